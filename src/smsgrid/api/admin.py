"""The admin API (SPEC §4): subscriptions, inbound SMS, and read access to messages, events and dead letters."""

from __future__ import annotations

import hmac
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from smsgrid.acs.validation import bad_request, load_json_object
from smsgrid.api.auth import Caller, admin_caller, check_hmac_admin
from smsgrid.api.context import AppContext
from smsgrid.api.ids import find_deadletter, id_number
from smsgrid.api.responses import json_response, read_body
from smsgrid.api.routing import RouteSpec, bind_routes
from smsgrid.api.web_auth import LOGIN_TOKEN_SECONDS
from smsgrid.errors import RequestError
from smsgrid.store.views import DeadLetterList, EventList, MessageList, iso, wire

DEFAULT_PAGE = 100
MAX_PAGE = 1000


async def admin_body(ctx: AppContext, request: Request, *, json_body: bool = False) -> bytes:
    """Authorise from the headers, then (only then) read the body; HMAC needs the body, which stays bounded.

    `json_body`: the operation takes a JSON body, so it must say `Content-Type: application/json` (415
    otherwise). A browser can send `text/plain` or a form to another origin without asking it first (CORS
    "simple request"); JSON it cannot, so this closes that door even beside the CSRF check.
    """
    caller = admin_caller(request, ctx.resource.access_key, ctx.web_auth)
    if caller is Caller.HMAC:
        # Its signature covers the body, so only this caller is read before it is known (bounded to 1 MiB).
        body = await read_body(request)
        check_hmac_admin(request, body, ctx.resource.key_bytes, ctx.web_auth)
    if json_body:
        media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
        if media_type != "application/json":
            raise RequestError(
                415, "UnsupportedMediaType", "Send the body as JSON with 'Content-Type: application/json'."
            )
    if caller is not Caller.HMAC:
        body = await read_body(request)
    return body


def _limit(request: Request) -> int:
    text = request.query_params.get("limit", str(DEFAULT_PAGE))
    value = id_number(text)
    if value is None or not 1 <= value <= MAX_PAGE:
        raise bad_request(f"limit must be an integer from 1 to {MAX_PAGE}.")
    return int(text)


MAX_SEQ = 2**63 - 1  # event seq is a signed 64-bit database integer (openapi.py declares the same bound)


def _before(request: Request) -> int | None:
    """`before=SEQ` paging cursor: absent means the newest page; anything but a seq is a 400, not ignored."""
    text = request.query_params.get("before")
    if text is None:
        return None
    if not (text.isascii() and text.isdigit()) or len(text) > 19 or int(text) > MAX_SEQ:
        raise bad_request(f"before must be an event seq: an integer from 0 to {MAX_SEQ}, not {text[:40]!r}.")
    return int(text)


def _flag(request: Request, name: str) -> bool:
    """A boolean query parameter: `true` or `false` (default false); a typo must not quietly mean false."""
    text = request.query_params.get(name, "false")
    if text not in ("true", "false"):
        raise bad_request(f"{name} must be true or false, not {text[:40]!r}.")
    return text == "true"


def _not_found(what: str) -> RequestError:
    return RequestError(404, "NotFound", what)


async def put_subscription(ctx: AppContext, request: Request) -> Response:
    body = await admin_body(ctx, request, json_body=True)
    name = request.path_params["name"]
    result = await ctx.subscriptions.put(name, load_json_object(body))
    return json_response(result, 200)


def _subscription_found(found: dict[str, Any] | None, name: str) -> Response:
    if found is None:
        raise _not_found(f"No event subscription named '{name}'.")
    return json_response(found)


async def get_subscription(ctx: AppContext, request: Request) -> Response:
    await admin_body(ctx, request)
    name = request.path_params["name"]
    return _subscription_found(await ctx.subscriptions.get(name), name)


async def delete_subscription(ctx: AppContext, request: Request) -> Response:
    await admin_body(ctx, request)
    name = request.path_params["name"]
    if not await ctx.subscriptions.delete(name):
        raise _not_found(f"No event subscription named '{name}'.")
    return Response(status_code=204)


async def get_full_url(ctx: AppContext, request: Request) -> Response:
    """ARM's `POST …/eventSubscriptions/{name}/getFullUrl`: `{"endpointUrl": …}` with its query and credentials."""
    await admin_body(ctx, request)
    name = request.path_params["name"]
    return _subscription_found(await ctx.subscriptions.full_url(name), name)


async def get_delivery_attributes(ctx: AppContext, request: Request) -> Response:
    """ARM's `POST …/eventSubscriptions/{name}/getDeliveryAttributes`: `{"value": [mappings]}`, secrets included."""
    await admin_body(ctx, request)
    name = request.path_params["name"]
    return _subscription_found(await ctx.subscriptions.delivery_attributes(name), name)


async def list_subscriptions(ctx: AppContext, request: Request) -> Response:
    await admin_body(ctx, request)
    return json_response({"value": await ctx.subscriptions.list()})


async def inbound(ctx: AppContext, request: Request) -> Response:
    body = await admin_body(ctx, request, json_body=True)
    raw = load_json_object(body)
    fields = {}
    for key in ("from", "to", "message"):
        value = raw.get(key)
        if not isinstance(value, str):
            raise bad_request(f"The field '{key}' is required and must be a string.")
        fields[key] = value
    message_id = await ctx.messaging.receive(fields["from"], fields["to"], fields["message"])
    return json_response({"messageId": message_id}, 202)


async def list_messages(ctx: AppContext, request: Request) -> Response:
    await admin_body(ctx, request)
    number = request.query_params.get("number")
    items = await ctx.store.list_messages(limit=_limit(request), number=number)
    return json_response(wire(MessageList(value=tuple(items))))


async def get_message(ctx: AppContext, request: Request) -> Response:
    await admin_body(ctx, request)
    message_id = request.path_params["message_id"]
    found = await ctx.store.get_message(message_id)
    if found is None:
        raise _not_found(f"No message with id '{message_id}'.")
    return json_response(wire(found))


async def list_events(ctx: AppContext, request: Request) -> Response:
    await admin_body(ctx, request)
    limit, before_seq = _limit(request), _before(request)
    items = await ctx.store.list_events(limit=limit, before_seq=before_seq)
    return json_response(wire(EventList(value=tuple(items))))


async def get_event(ctx: AppContext, request: Request) -> Response:
    await admin_body(ctx, request)
    event_id = request.path_params["event_id"]
    found = await ctx.store.get_event(event_id)
    if found is None:
        raise _not_found(f"No event with id '{event_id}'.")
    return json_response(wire(found))


async def list_deadletters(ctx: AppContext, request: Request) -> Response:
    await admin_body(ctx, request)
    limit, include = _limit(request), _flag(request, "includeRedelivered")
    items = await ctx.store.list_deadletters(limit=limit, include_redelivered=include)
    return json_response(wire(DeadLetterList(value=tuple(items))))


async def redeliver(ctx: AppContext, request: Request) -> Response:
    await admin_body(ctx, request)
    text = request.path_params["deadletter_id"]
    if (lookup := await find_deadletter(ctx.store, text)) is None:
        raise _not_found(f"No dead letter with id '{text}'.")
    deadletter_id, found = lookup
    if found.redelivered_at is not None:
        raise RequestError(
            409, "Conflict", f"Dead letter {text} was already redelivered at {iso(found.redelivered_at)}."
        )
    if not await ctx.redelivery(deadletter_id):
        raise RequestError(409, "Conflict", f"Subscription '{found.subscription}' no longer exists or is not active.")
    return json_response({"id": deadletter_id, "redelivered": True}, 202)


async def validate(ctx: AppContext, request: Request) -> Response:
    """The validationUrl of a manual handshake: a GET with the code completes it (no key needed)."""
    name = request.path_params["name"]
    code = request.query_params.get("code", "")
    refused = RequestError(400, "ValidationFailed", "This validation link is unknown, used or expired.")
    # Codes are ASCII (a UUID); anything else is refused here, not compared (compare_digest raises on it).
    if not code.isascii() or len(code) > 200:
        raise refused
    # Anyone may call this, so it reads one row by name: never every subscription per request.
    record = await ctx.store.get_subscription(name)
    if record is None or not record.validation_code or not hmac.compare_digest(code, record.validation_code):
        raise refused
    if await ctx.subscriptions.manual_validate(name, code):
        return Response("Webhook successfully validated.", media_type="text/plain")
    raise refused


async def list_carriers(ctx: AppContext, request: Request) -> Response:
    """What carries the messages, and each SMPP connection's state where this process runs the carrier."""
    await admin_body(ctx, request)
    return json_response(wire(ctx.carriers.listing()))


async def create_login_token(ctx: AppContext, request: Request) -> Response:
    """`POST /admin/login-tokens`: a one-time web UI login URL (`smsgrid login-url`); the key never goes in a URL."""
    await admin_body(ctx, request)
    if admin_caller(request, ctx.resource.access_key, ctx.web_auth) is Caller.SESSION:
        raise RequestError(403, "Forbidden", "A web UI session cannot make login links; use the access key.")
    token = ctx.web_auth.login_tokens.issue()
    return json_response({"path": f"/login?token={token}", "expiresInSeconds": LOGIN_TOKEN_SECONDS}, 201)


TABLE: list[RouteSpec[AppContext]] = [
    RouteSpec("/eventsubscriptions/{name}/validate", "GET", validate),
    RouteSpec("/admin/subscriptions", "GET", list_subscriptions),
    RouteSpec("/admin/subscriptions/{name}", "PUT", put_subscription),
    RouteSpec("/admin/subscriptions/{name}", "GET", get_subscription),
    RouteSpec("/admin/subscriptions/{name}", "DELETE", delete_subscription),
    RouteSpec("/admin/subscriptions/{name}/getFullUrl", "POST", get_full_url),
    RouteSpec("/admin/subscriptions/{name}/getDeliveryAttributes", "POST", get_delivery_attributes),
    RouteSpec("/admin/inbound", "POST", inbound),
    RouteSpec("/admin/messages", "GET", list_messages),
    RouteSpec("/admin/messages/{message_id}", "GET", get_message),
    RouteSpec("/admin/events", "GET", list_events),
    RouteSpec("/admin/events/{event_id}", "GET", get_event),
    RouteSpec("/admin/deadletters", "GET", list_deadletters),
    RouteSpec("/admin/deadletters/{deadletter_id}/redeliver", "POST", redeliver),
    RouteSpec("/admin/login-tokens", "POST", create_login_token),
    RouteSpec("/admin/carriers", "GET", list_carriers),
]


def routes(ctx: AppContext) -> list[Route]:
    return bind_routes(ctx, TABLE)
