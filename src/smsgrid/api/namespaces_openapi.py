"""The namespace topics' entries of the operation table (`api/operations.py`), and their security schemes."""

from __future__ import annotations

from typing import Any

from smsgrid.api.namespaces_models import (
    ArmBody,
    ArmResource,
    CloudEvent,
    CloudEventBatch,
    LockTokenResult,
    LockTokens,
    NamespaceDeadLetterList,
    NamespaceEventSubscription,
    NamespaceEventSubscriptionList,
    NamespaceTopic,
    NamespaceTopicList,
    PublishResult,
    ReceiveQuery,
    ReceiveResult,
    ReleaseQuery,
    SubscriptionPath,
    TopicPath,
    VersionQuery,
)
from smsgrid.api.operations import ADMIN, Body, Endpoint, OperationDoc, Reply, errors, json_body

DATA_PLANE = ("namespaceKey", "entraBearer")
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
_ERRORS = {"400": "Not valid.", "401": "No access key or token.", "404": "No such topic or subscription."}
_TAGS = ("namespace topics",)
_TOPIC = "/admin/namespaces/topics/{topic}"
_SUB = _TOPIC + "/eventSubscriptions/{name}"
_QUEUE = "/topics/{topic}/eventsubscriptions/{name}"


def _queue_action(operation_id: str, summary: str, **details: Any) -> OperationDoc:
    details.setdefault("query", VersionQuery)
    return OperationDoc(
        operation_id,
        _TAGS,
        DATA_PLANE,
        {"200": Reply("Done.", LockTokenResult), **errors("400", "401", "404", text=_ERRORS)},
        summary=summary,
        path=SubscriptionPath,
        **details,
    )


def _admin(operation_id: str, responses: dict[str, Reply], **details: Any) -> OperationDoc:
    return OperationDoc(operation_id, ("admin",), ADMIN, responses, **details)


def _put(operation_id: str, model: type[ArmResource], summary: str, path: Any, *codes: str) -> OperationDoc:
    responses = {
        "200": Reply("Updated.", model),
        "201": Reply("Created.", model),
        **errors(*codes, text=_ERRORS),
    }
    return _admin(operation_id, responses, summary=summary, path=path, body=json_body(ArmBody))


OPERATIONS: dict[Endpoint, OperationDoc] = {
    ("POST", "/topics/{topic}:publish"): OperationDoc(
        "namespacePublish",
        _TAGS,
        DATA_PLANE,
        {"200": Reply("Published.", PublishResult), **errors("400", "401", "404", text=_ERRORS)},
        summary="Publish one CloudEvent or a batch (application/cloudevents[-batch]+json).",
        path=TopicPath,
        query=VersionQuery,
        body=Body({"application/cloudevents+json": CloudEvent, "application/cloudevents-batch+json": CloudEventBatch}),
    ),
    ("POST", f"{_QUEUE}:receive"): OperationDoc(
        "namespaceReceive",
        _TAGS,
        DATA_PLANE,
        {"200": Reply("Done.", ReceiveResult), **errors("400", "401", "404", text=_ERRORS)},
        summary="Lock and hand out up to maxEvents, waiting up to maxWaitTime seconds for one.",
        path=SubscriptionPath,
        query=ReceiveQuery,
    ),
    ("POST", f"{_QUEUE}:acknowledge"): _queue_action("namespaceAcknowledge", "Delete.", body=json_body(LockTokens)),
    ("POST", f"{_QUEUE}:release"): _queue_action(
        "namespaceRelease",
        "Make available again, after releaseDelayInSeconds.",
        query=ReleaseQuery,
        body=json_body(LockTokens),
    ),
    ("POST", f"{_QUEUE}:reject"): _queue_action("namespaceReject", "Dead-letter or drop.", body=json_body(LockTokens)),
    ("POST", f"{_QUEUE}:renewLock"): _queue_action(
        "namespaceRenewLock", "Extend the locks.", body=json_body(LockTokens)
    ),
    ("GET", "/admin/namespaces/topics"): _admin(
        "listNamespaceTopics", {"200": Reply("The topics.", NamespaceTopicList), **errors("401", text=_ERRORS)}
    ),
    ("PUT", _TOPIC): _put(
        "putNamespaceTopic",
        NamespaceTopic,
        "Create (201) or update (200) with the ARM body (docs/namespace-topics.md).",
        TopicPath,
        "400",
        "401",
    ),
    ("GET", _TOPIC): _admin(
        "getNamespaceTopic",
        {"200": Reply("The topic.", NamespaceTopic), **errors("401", "404", text=_ERRORS)},
        path=TopicPath,
    ),
    ("DELETE", _TOPIC): _admin(
        "deleteNamespaceTopic",
        {"204": Reply("Deleted, with its subscriptions."), **errors("401", "404", text=_ERRORS)},
        path=TopicPath,
    ),
    ("GET", _TOPIC + "/eventSubscriptions"): _admin(
        "listNamespaceEventSubscriptions",
        {
            "200": Reply("The event subscriptions.", NamespaceEventSubscriptionList),
            **errors("401", "404", text=_ERRORS),
        },
        path=TopicPath,
    ),
    ("PUT", _SUB): _put(
        "putNamespaceEventSubscription",
        NamespaceEventSubscription,
        "Create (201) or update (200) with the ARM body (deliveryMode Queue).",
        SubscriptionPath,
        "400",
        "401",
        "404",
    ),
    ("GET", _SUB): _admin(
        "getNamespaceEventSubscription",
        {"200": Reply("The event subscription.", NamespaceEventSubscription), **errors("401", "404", text=_ERRORS)},
        path=SubscriptionPath,
    ),
    ("DELETE", _SUB): _admin(
        "deleteNamespaceEventSubscription",
        {"204": Reply("Deleted, with its queue."), **errors("401", "404", text=_ERRORS)},
        path=SubscriptionPath,
    ),
    ("GET", _SUB + "/deadletters"): _admin(
        "listNamespaceDeadLetters",
        {"200": Reply("The dead-lettered events.", NamespaceDeadLetterList), **errors("401", "404", text=_ERRORS)},
        path=SubscriptionPath,
    ),
}
