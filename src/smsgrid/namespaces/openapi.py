"""The OpenAPI paths of namespace topics (merged into /openapi.json by smsgrid.api.openapi)."""

from __future__ import annotations

from typing import Any

from smsgrid.namespaces.queue import RELEASE_DELAYS

Schema = dict[str, Any]
JSON = "application/json"
DATA_PLANE_SECURITY: list[dict[str, list[str]]] = [{"namespaceKey": []}, {"entraBearer": []}]
ADMIN_SECURITY: list[dict[str, list[str]]] = [{"acsHmac": []}, {"accessKeyBearer": []}]
SECURITY_SCHEMES: dict[str, Any] = {
    "namespaceKey": {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "`SharedAccessKey <access key>` (what azure-eventgrid sends for an AzureKeyCredential).",
    },
    "entraBearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "An Entra ID token for https://eventgrid.azure.net from smsgrid's issuer (docs/entra.md).",
    },
}
_ERROR: Schema = {"$ref": "#/components/schemas/ErrorResponse"}
_OBJECT: Schema = {"type": "object"}
_TOKENS: Schema = {
    "type": "object",
    "required": ["lockTokens"],
    "properties": {"lockTokens": {"type": "array", "minItems": 1, "maxItems": 100, "items": {"type": "string"}}},
}
_TOKEN_RESULT: Schema = {
    "type": "object",
    "required": ["failedLockTokens", "succeededLockTokens"],
    "properties": {
        "failedLockTokens": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["lockToken", "error"],
                "properties": {
                    "lockToken": {"type": "string"},
                    "error": {
                        "type": "object",
                        "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
                    },
                },
            },
        },
        "succeededLockTokens": {"type": "array", "items": {"type": "string"}},
    },
}
_RECEIVE_RESULT: Schema = {
    "type": "object",
    "required": ["value"],
    "properties": {
        "value": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["brokerProperties", "event"],
                "properties": {
                    "brokerProperties": {
                        "type": "object",
                        "properties": {"lockToken": {"type": "string"}, "deliveryCount": {"type": "integer"}},
                    },
                    "event": _OBJECT,
                },
            },
        }
    },
}


def _ok(description: str, schema: Schema | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description}
    if schema is not None:
        response["content"] = {JSON: {"schema": schema}}
    return response


def _errors(*codes: str) -> dict[str, Any]:
    described = {"400": "Not valid.", "401": "No access key or token.", "404": "No such topic or subscription."}
    out = {code: _ok(described.get(code, "An error."), _ERROR) for code in codes}
    out["default"] = _ok("Any other error, in Azure's error shape.", _ERROR)
    return out


def _param(name: str, where: str = "path", schema: Schema | None = None, required: bool = True) -> dict[str, Any]:
    return {"name": name, "in": where, "required": required, "schema": schema or {"type": "string"}}


_API_VERSION = _param("api-version", "query", {"type": "string", "enum": ["2023-11-01", "2024-06-01"]})


def _action(operation: str, summary: str, extra: list[dict[str, Any]], body: bool, result: Schema) -> dict[str, Any]:
    op: dict[str, Any] = {
        "tags": ["namespace topics"],
        "operationId": operation,
        "summary": summary,
        "security": DATA_PLANE_SECURITY,
        "parameters": [_param("topic"), _param("name"), _API_VERSION, *extra],
        "responses": {"200": _ok("Done.", result), **_errors("400", "401", "404")},
    }
    if body:
        op["requestBody"] = {"required": True, "content": {JSON: {"schema": _TOKENS}}}
    return {"post": op}


def paths() -> dict[str, Any]:
    sub = "/topics/{topic}/eventsubscriptions/{name}"
    admin = {"tags": ["admin"], "security": ADMIN_SECURITY}
    topic_path = "/admin/namespaces/topics/{topic}"
    sub_path = topic_path + "/eventSubscriptions/{name}"
    arm_body = {"required": True, "content": {JSON: {"schema": _OBJECT}}}
    return {
        "/topics/{topic}:publish": {
            "post": {
                "tags": ["namespace topics"],
                "operationId": "namespacePublish",
                "summary": "Publish one CloudEvent or a batch (application/cloudevents[-batch]+json).",
                "security": DATA_PLANE_SECURITY,
                "parameters": [_param("topic"), _API_VERSION],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/cloudevents+json": {"schema": _OBJECT},
                        "application/cloudevents-batch+json": {"schema": {"type": "array", "items": _OBJECT}},
                    },
                },
                "responses": {"200": _ok("Published.", _OBJECT), **_errors("400", "401", "404")},
            }
        },
        f"{sub}:receive": _action(
            "namespaceReceive",
            "Lock and hand out up to maxEvents, waiting up to maxWaitTime seconds for one.",
            [
                _param("maxEvents", "query", {"type": "integer", "minimum": 1, "maximum": 100}, required=False),
                _param("maxWaitTime", "query", {"type": "integer", "minimum": 10, "maximum": 120}, required=False),
            ],
            body=False,
            result=_RECEIVE_RESULT,
        ),
        f"{sub}:acknowledge": _action("namespaceAcknowledge", "Delete.", [], True, _TOKEN_RESULT),
        f"{sub}:release": _action(
            "namespaceRelease",
            "Make available again, after releaseDelayInSeconds.",
            [_param("releaseDelayInSeconds", "query", {"type": "integer", "enum": list(RELEASE_DELAYS)}, False)],
            True,
            _TOKEN_RESULT,
        ),
        f"{sub}:reject": _action("namespaceReject", "Dead-letter or drop.", [], True, _TOKEN_RESULT),
        f"{sub}:renewLock": _action("namespaceRenewLock", "Extend the locks.", [], True, _TOKEN_RESULT),
        "/admin/namespaces/topics": {
            "get": {**admin, "operationId": "listNamespaceTopics", "responses": {"200": _ok("The topics.", _OBJECT)}}
        },
        topic_path: {
            "put": {
                **admin,
                "operationId": "putNamespaceTopic",
                "summary": "Create (201) or update (200) with the ARM body (docs/namespace-topics.md).",
                "parameters": [_param("topic")],
                "requestBody": arm_body,
                "responses": {
                    "200": _ok("Updated.", _OBJECT),
                    "201": _ok("Created.", _OBJECT),
                    **_errors("400", "401"),
                },
            },
            "get": {
                **admin,
                "operationId": "getNamespaceTopic",
                "parameters": [_param("topic")],
                "responses": {"200": _ok("The topic.", _OBJECT), **_errors("401", "404")},
            },
            "delete": {
                **admin,
                "operationId": "deleteNamespaceTopic",
                "parameters": [_param("topic")],
                "responses": {"204": _ok("Deleted, with its subscriptions."), **_errors("401", "404")},
            },
        },
        topic_path + "/eventSubscriptions": {
            "get": {
                **admin,
                "operationId": "listNamespaceEventSubscriptions",
                "parameters": [_param("topic")],
                "responses": {"200": _ok("The event subscriptions.", _OBJECT), **_errors("401", "404")},
            }
        },
        sub_path: {
            "put": {
                **admin,
                "operationId": "putNamespaceEventSubscription",
                "summary": "Create (201) or update (200) with the ARM body (deliveryMode Queue).",
                "parameters": [_param("topic"), _param("name")],
                "requestBody": arm_body,
                "responses": {
                    "200": _ok("Updated.", _OBJECT),
                    "201": _ok("Created.", _OBJECT),
                    **_errors("400", "401", "404"),
                },
            },
            "get": {
                **admin,
                "operationId": "getNamespaceEventSubscription",
                "parameters": [_param("topic"), _param("name")],
                "responses": {"200": _ok("The event subscription.", _OBJECT), **_errors("401", "404")},
            },
            "delete": {
                **admin,
                "operationId": "deleteNamespaceEventSubscription",
                "parameters": [_param("topic"), _param("name")],
                "responses": {"204": _ok("Deleted, with its queue."), **_errors("401", "404")},
            },
        },
        sub_path + "/deadletters": {
            "get": {
                **admin,
                "operationId": "listNamespaceDeadLetters",
                "parameters": [_param("topic"), _param("name")],
                "responses": {"200": _ok("The dead-lettered events.", _OBJECT), **_errors("401", "404")},
            }
        },
    }
