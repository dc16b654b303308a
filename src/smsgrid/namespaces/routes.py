"""HTTP of namespace topics: the Event Grid data plane at Azure's paths, and the admin API for topics and
event subscriptions (ARM bodies).

Data plane (Azure/azure-rest-api-specs eventgrid/data-plane/Microsoft.EventGrid/stable/2024-06-01 and 2023-11-01):
`POST /topics/{topic}:publish`, `POST /topics/{topic}/eventsubscriptions/{sub}:receive|acknowledge|release|reject|
renewLock`. Authenticated with `Authorization: SharedAccessKey <access key>` (what azure-eventgrid sends for an
AzureKeyCredential) or an Entra bearer token for `https://eventgrid.azure.net`. Errors are Azure.Core's
`{"error": {"code", "message"}}` with the `x-ms-error-code` header.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from smsgrid.api.admin import admin_body
from smsgrid.api.context import AppContext
from smsgrid.api.responses import MAX_BODY_BYTES, error_response, json_response, read_body
from smsgrid.api.routing import RouteSpec, bind_routes
from smsgrid.entra import EVENT_GRID_AUDIENCE
from smsgrid.errors import Problem, RequestError
from smsgrid.namespaces.broker import NamespaceBroker, Subscription
from smsgrid.namespaces.queue import RELEASE_DELAYS, TokenResult
from smsgrid.namespaces.spec import parse_subscription, parse_topic

API_VERSIONS = ("2023-11-01", "2024-06-01")
# Swagger: receive maxEvents 1..100 (default 1), maxWaitTime 10..120 s (default 60); lockTokens 1..100 per call.
MAX_EVENTS_RANGE = (1, 100)
MAX_WAIT_RANGE = (10, 120)
DEFAULT_MAX_WAIT = 60
MAX_LOCK_TOKENS = 100
KEY_PREFIX = "sharedaccesskey"
CLOUD_EVENT_REQUIRED = ("id", "source", "type", "specversion")
MAX_PROBLEMS_LISTED = 20


def _error(status: int, code: str, message: str) -> Response:
    return error_response(status, code, message, {"x-ms-error-code": code})


def _bad(message: str) -> RequestError:
    return RequestError(400, "BadRequest", message, {"x-ms-error-code": "BadRequest"})


def load_json_object(body: bytes) -> dict[str, Any]:
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise RequestError(400, "InvalidRequestBody", f"The request body is not valid JSON: {exc}.") from None
    if not isinstance(value, dict):
        raise RequestError(400, "InvalidRequestBody", "The request body must be a JSON object.")
    return value


async def _authorised(ctx: AppContext, request: Request) -> Response | None:
    """None when the caller holds the access key or an Entra token for Event Grid; else the 401 answer."""
    scheme, _, credential = request.headers.get("authorization", "").strip().partition(" ")
    credential = credential.strip()
    if scheme.lower() == KEY_PREFIX:
        if hmac.compare_digest(credential.encode(), ctx.resource.access_key.encode()):
            return None
        return _error(401, "Unauthorized", "The SharedAccessKey is not this resource's access key.")
    if scheme.lower() == "bearer":
        reason = await ctx.entra.check_bearer(credential, EVENT_GRID_AUDIENCE)
        return None if reason is None else _error(401, "Unauthorized", reason)
    return _error(
        401, "Unauthorized",
        "Send 'Authorization: SharedAccessKey <access key>' (AzureKeyCredential) or an Entra bearer token for "
        "https://eventgrid.azure.net.",
    )  # fmt: skip


def _api_version(request: Request) -> None:
    version = request.query_params.get("api-version")
    if version is None:
        raise _bad(f"The api-version query parameter is required; use {API_VERSIONS[-1]}.")
    if version not in API_VERSIONS:
        raise _bad(f"The api-version {version!r} is not supported; use {' or '.join(API_VERSIONS)}.")


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    text = request.query_params.get(name)
    if text is None:
        return default
    if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
        raise _bad(f"{name} must be a whole number from {low} to {high}, not {text[:40]!r}.")
    return int(text)


def _subscription(broker: NamespaceBroker, request: Request) -> Subscription:
    topic_name = request.path_params["topic"]
    name = request.path_params["name"]
    topic = broker.topics.get(topic_name)
    if topic is None:
        raise RequestError(
            404, "NotFound", f"No namespace topic named '{topic_name}'.", {"x-ms-error-code": "NotFound"}
        )
    subscription = topic.subscriptions.get(name)
    if subscription is None:
        raise RequestError(404, "NotFound", f"No event subscription named '{name}' on topic '{topic_name}'.",
                           {"x-ms-error-code": "NotFound"})  # fmt: skip
    return subscription


# ------------------------------------------------------------------------------------------------ publish


def check_cloud_events(body: bytes, content_type: str) -> list[dict[str, Any]]:
    """The CloudEvents of a publish body (one object, or an array for `application/cloudevents-batch+json`),
    or one 400 naming every problem."""
    try:
        decoded = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise _bad(f"The body is not valid JSON: {exc}.") from None
    batch = "cloudevents-batch" in content_type
    if batch and not isinstance(decoded, list):
        raise _bad("A application/cloudevents-batch+json body must be a JSON array of CloudEvents.")
    items = decoded if isinstance(decoded, list) else [decoded]
    if not items:
        raise _bad("The body is an empty array; send at least one CloudEvent.")
    problems: list[Problem] = []
    for i, raw in enumerate(items):
        path = f"[{i}]" if isinstance(decoded, list) else ""
        if not isinstance(raw, Mapping):
            problems.append(Problem(path, "must be a CloudEvent object {id, source, type, specversion}"))
            continue
        for key in CLOUD_EVENT_REQUIRED:
            value = raw.get(key)
            if not isinstance(value, str) or not value:
                problems.append(Problem(f"{path}.{key}".lstrip("."), "is required (a non-empty string)"))
        if raw.get("specversion") not in (None, "1.0") and isinstance(raw.get("specversion"), str):
            problems.append(Problem(f"{path}.specversion".lstrip("."), "must be '1.0'"))
        if "data" in raw and "data_base64" in raw:
            problems.append(Problem(path or "event", "has both data and data_base64; send one"))
    if problems:
        listed = "; ".join(str(p) for p in problems[:MAX_PROBLEMS_LISTED])
        raise _bad(f"The events cannot be published: {listed}.")
    return [dict(item) for item in items]


async def publish(ctx: AppContext, request: Request) -> Response:
    denied = await _authorised(ctx, request)
    if denied is not None:
        return denied
    _api_version(request)
    broker = ctx.namespaces
    topic = request.path_params["topic"]
    if topic not in broker.topics:
        return _error(404, "NotFound", f"No namespace topic named '{topic}'.")
    content_type = request.headers.get("content-type", "").lower()
    if "cloudevents" not in content_type and "json" not in content_type:
        raise _bad("Send CloudEvents as application/cloudevents+json or application/cloudevents-batch+json.")
    events = check_cloud_events(await read_body(request, MAX_BODY_BYTES), content_type)
    await broker.publish(topic, events)
    return json_response({})  # PublishResult: an empty object


# ---------------------------------------------------------------------------------------------- subscribe


async def receive(broker: NamespaceBroker, request: Request) -> Response:
    max_events = _int_param(request, "maxEvents", 1, *MAX_EVENTS_RANGE)
    max_wait = _int_param(request, "maxWaitTime", DEFAULT_MAX_WAIT, *MAX_WAIT_RANGE)
    received = await broker.receive(_subscription(broker, request), max_events, max_wait)
    value = [
        {"brokerProperties": {"lockToken": r.lock_token, "deliveryCount": r.delivery_count}, "event": r.event}
        for r in received
    ]
    return json_response({"value": value})


async def _lock_tokens(request: Request) -> list[str]:
    raw = load_json_object(await read_body(request))
    tokens = raw.get("lockTokens")
    if not isinstance(tokens, list) or not tokens or not all(isinstance(t, str) and t for t in tokens):
        raise _bad('The body must be {"lockTokens": [...]} with 1 to 100 lock tokens from receive.')
    if len(tokens) > MAX_LOCK_TOKENS:
        raise _bad(f"At most {MAX_LOCK_TOKENS} lock tokens per call; {len(tokens)} sent.")
    return tokens


def _token_result(result: TokenResult) -> Response:
    return json_response(
        {
            "failedLockTokens": [
                {"lockToken": f.lock_token, "error": {"code": f.code, "message": f.message}} for f in result.failed
            ],
            "succeededLockTokens": list(result.succeeded),
        }
    )


async def token_operation(broker: NamespaceBroker, request: Request, action: str) -> Response:
    subscription = _subscription(broker, request)
    if action == "release":
        delay = _int_param(request, "releaseDelayInSeconds", 0, 0, RELEASE_DELAYS[-1])
        if delay not in RELEASE_DELAYS:
            raise _bad(f"releaseDelayInSeconds must be one of {', '.join(map(str, RELEASE_DELAYS))}, not {delay}.")
    else:
        delay = 0
    tokens = await _lock_tokens(request)
    return _token_result(await broker.settle(subscription, action, tokens, delay))


ACTIONS = ("receive", "acknowledge", "release", "reject", "renewLock")


def _action(action: str) -> Callable[[AppContext, Request], Awaitable[Response]]:
    async def handle(ctx: AppContext, request: Request) -> Response:
        denied = await _authorised(ctx, request)
        if denied is not None:
            return denied
        _api_version(request)
        if action == "receive":
            return await receive(ctx.namespaces, request)
        return await token_operation(ctx.namespaces, request, action)

    return handle


# -------------------------------------------------------------------------------------------------- admin


def _problems(problems: list[Problem]) -> RequestError:
    listed = "; ".join(str(p) for p in problems[:MAX_PROBLEMS_LISTED])
    return RequestError(400, "InvalidRequestBody", f"The resource cannot be saved: {listed}.")


async def put_topic(ctx: AppContext, request: Request) -> Response:
    body = await admin_body(ctx, request, json_body=True)
    problems: list[Problem] = []
    spec = parse_topic(request.path_params["topic"], load_json_object(body), problems)
    if spec is None:
        raise _problems(problems)
    created = await ctx.namespaces.put_topic(spec)
    return json_response(spec.arm(ctx.namespaces.namespace_id), 201 if created else 200)


async def get_topic(ctx: AppContext, request: Request) -> Response:
    await admin_body(ctx, request)
    topic = ctx.namespaces.topics.get(request.path_params["topic"])
    if topic is None:
        raise RequestError(404, "NotFound", f"No namespace topic named '{request.path_params['topic']}'.")
    return json_response(topic.spec.arm(ctx.namespaces.namespace_id))


async def list_topics(ctx: AppContext, request: Request) -> Response:
    await admin_body(ctx, request)
    ns = ctx.namespaces
    return json_response({"value": [t.spec.arm(ns.namespace_id) for t in ns.topics.values()]})


async def delete_topic(ctx: AppContext, request: Request) -> Response:
    await admin_body(ctx, request)
    if not await ctx.namespaces.delete_topic(request.path_params["topic"]):
        raise RequestError(404, "NotFound", f"No namespace topic named '{request.path_params['topic']}'.")
    return Response(status_code=204)


async def put_event_subscription(ctx: AppContext, request: Request) -> Response:
    body = await admin_body(ctx, request, json_body=True)
    ns = ctx.namespaces
    topic = ns.topics.get(request.path_params["topic"])
    if topic is None:
        raise RequestError(404, "NotFound", f"No namespace topic named '{request.path_params['topic']}'; PUT it first.")
    problems: list[Problem] = []
    spec = parse_subscription(topic.spec, request.path_params["name"], load_json_object(body), problems)
    if spec is None:
        raise _problems(problems)
    created = await ns.put_subscription(spec)
    return json_response(spec.arm(ns.topic_id(topic.spec.name)), 201 if created else 200)


def _admin_subscription(ctx: AppContext, request: Request) -> Subscription:
    topic = ctx.namespaces.topics.get(request.path_params["topic"])
    found = topic.subscriptions.get(request.path_params["name"]) if topic is not None else None
    if found is None:
        raise RequestError(404, "NotFound", f"No event subscription named '{request.path_params['name']}'.")
    return found


async def get_event_subscription(ctx: AppContext, request: Request) -> Response:
    await admin_body(ctx, request)
    found = _admin_subscription(ctx, request)
    return json_response(found.spec.arm(ctx.namespaces.topic_id(found.spec.topic)))


async def list_event_subscriptions(ctx: AppContext, request: Request) -> Response:
    await admin_body(ctx, request)
    topic = ctx.namespaces.topics.get(request.path_params["topic"])
    if topic is None:
        raise RequestError(404, "NotFound", f"No namespace topic named '{request.path_params['topic']}'.")
    topic_id = ctx.namespaces.topic_id(topic.spec.name)
    return json_response({"value": [s.spec.arm(topic_id) for s in topic.subscriptions.values()]})


async def delete_event_subscription(ctx: AppContext, request: Request) -> Response:
    await admin_body(ctx, request)
    if not await ctx.namespaces.delete_subscription(request.path_params["topic"], request.path_params["name"]):
        raise RequestError(404, "NotFound", f"No event subscription named '{request.path_params['name']}'.")
    return Response(status_code=204)


async def list_dead_letters(ctx: AppContext, request: Request) -> Response:
    """smsgrid's own view of what the subscription dead-lettered (in memory, newest last)."""
    await admin_body(ctx, request)
    found = _admin_subscription(ctx, request)
    await ctx.namespaces.sweep(found)
    value = [
        {"event": d.event, "deadLetterReason": d.reason, "deliveryCount": d.delivery_count} for d in found.dead_letters
    ]
    return json_response({"value": value})


_TOPIC = "/admin/namespaces/topics/{topic}"
_SUB = _TOPIC + "/eventSubscriptions/{name}"
TABLE: list[RouteSpec[AppContext]] = [
    RouteSpec("/topics/{topic}:publish", "POST", publish),
    *(RouteSpec(f"/topics/{{topic}}/eventsubscriptions/{{name}}:{a}", "POST", _action(a)) for a in ACTIONS),
    RouteSpec("/admin/namespaces/topics", "GET", list_topics),
    RouteSpec(_TOPIC, "PUT", put_topic),
    RouteSpec(_TOPIC, "GET", get_topic),
    RouteSpec(_TOPIC, "DELETE", delete_topic),
    RouteSpec(_TOPIC + "/eventSubscriptions", "GET", list_event_subscriptions),
    RouteSpec(_SUB, "PUT", put_event_subscription),
    RouteSpec(_SUB, "GET", get_event_subscription),
    RouteSpec(_SUB, "DELETE", delete_event_subscription),
    RouteSpec(_SUB + "/deadletters", "GET", list_dead_letters),
]


def routes(ctx: AppContext) -> list[Route]:
    return bind_routes(ctx, TABLE)
