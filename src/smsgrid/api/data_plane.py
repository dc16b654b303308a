"""The ACS SMS data plane (SPEC §2), routed from the version table (`acs/versions.py`). HMAC or an Entra
token on every call.

Each handler asks the table whether the request's api-version defines its operation (`resolve_version`), then
parses the body with that version's shape; nothing here knows a version by name.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from smsgrid.acs.validation import bad_request, parse_mms, parse_optouts, parse_send, resolve_route
from smsgrid.acs.versions import ROUTES, ApiVersion, Operation
from smsgrid.acs.versions import Route as AcsRoute
from smsgrid.api.auth import require_data_plane_caller
from smsgrid.api.context import AppContext
from smsgrid.api.responses import json_response, problem_response, read_body
from smsgrid.api.routing import Handler, RouteSpec, bind_routes
from smsgrid.entra import COMMUNICATION_AUDIENCE
from smsgrid.errors import InvalidPhoneNumberError
from smsgrid.sms import ACS_INVALID_TO, parse_e164
from smsgrid.store.views import wire

# The opt-out APIs word a bad recipient differently from send (azure-rest-api-specs, Sms OptOutAdd.json).
OPTOUT_INVALID_TO = "Invalid recipient phone number format"


async def _signed_body(ctx: AppContext, request: Request) -> bytes:
    body = await read_body(request)
    await require_data_plane_caller(request, body, ctx.resource.key_bytes, ctx.entra, COMMUNICATION_AUDIENCE)
    return body


def _version(request: Request, route: AcsRoute) -> ApiVersion:
    return resolve_route(request.query_params.get("api-version"), route, str(request.url))


async def send_sms(ctx: AppContext, request: Request, route: AcsRoute) -> Response:
    body = await _signed_body(ctx, request)
    version = _version(request, route)
    send = parse_send(body, version.send, version.name)
    results = await ctx.messaging.send(send)
    return json_response({"value": results}, 202)


async def optouts(ctx: AppContext, request: Request, route: AcsRoute) -> Response:
    body = await _signed_body(ctx, request)
    _version(request, route)
    parsed = parse_optouts(body)
    sender = parsed.from_number
    if ctx.messaging.check_sender(sender).one_way:  # the resource's sender, or Azure's 401
        # "Azure Communication Services doesn't enforce or manage opt-out lists for alphanumeric sender IDs"
        # (ACS SMS FAQ, opt-out handling).
        raise bad_request(
            f"{sender!r} is an alphanumeric sender ID: ACS keeps no opt-out list for those; give the "
            "recipients another way to opt out.",
            "InvalidFromNumber",
        )
    valid: list[str] = []
    results: list[dict[str, Any]] = []
    for to in parsed.recipients:
        try:
            valid.append(parse_e164(to))
            results.append({"to": to, "httpStatusCode": 200})
        except InvalidPhoneNumberError:
            results.append({"to": to, "httpStatusCode": 400, "errorMessage": OPTOUT_INVALID_TO})
    now = ctx.clock.now()
    if route.operation is Operation.OPTOUTS_CHECK:
        states = iter(await ctx.store.check_optouts(sender, valid))
    else:
        adding = route.operation is Operation.OPTOUTS_ADD
        await ctx.store.set_optouts(sender, valid, adding, now)
        states = iter([adding] * len(valid))
    for result in results:
        if result["httpStatusCode"] == 200:
            result["isOptedOut"] = next(states)
    return json_response({"value": results}, 200)


async def delivery_report(ctx: AppContext, request: Request, route: AcsRoute) -> Response:
    await _signed_body(ctx, request)
    shape = _version(request, route).delivery_report
    assert shape is not None  # resolve_route checked the operation
    message_id = request.path_params["outgoingMessageId"]
    message = await ctx.store.get_message(message_id)
    if message is None or message.delivery_report is None:
        return problem_response(404, "Not Found", f"No delivery report for message '{message_id}' (yet).")
    report = wire(message.delivery_report)
    if not shape.partner_message_id:
        report.pop("messagingConnectPartnerMessageId", None)
    return json_response(report)


async def send_mms(ctx: AppContext, request: Request, route: AcsRoute) -> Response:
    body = await _signed_body(ctx, request)
    version = _version(request, route)
    assert version.mms is not None
    send = parse_mms(body, version.mms, version.name)
    results = await ctx.messaging.send(send)
    return json_response({"value": results}, 202)


AcsHandler = Callable[[AppContext, Request, AcsRoute], Awaitable[Response]]
_HANDLERS: dict[Operation, AcsHandler] = {
    Operation.SEND: send_sms,
    Operation.OPTOUTS_ADD: optouts,
    Operation.OPTOUTS_REMOVE: optouts,
    Operation.OPTOUTS_CHECK: optouts,
    Operation.DELIVERY_REPORT: delivery_report,
    Operation.MMS_SEND: send_mms,
}


def _handler(route: AcsRoute) -> Handler[AppContext]:
    handler = _HANDLERS[route.operation]

    async def endpoint(ctx: AppContext, request: Request) -> Response:
        return await handler(ctx, request, route)

    endpoint.__name__ = f"{route.operation}"
    return endpoint


TABLE = [RouteSpec(r.path, r.method, _handler(r)) for r in ROUTES]


def routes(ctx: AppContext) -> list[Route]:
    return bind_routes(ctx, TABLE)


__all__ = ["ACS_INVALID_TO", "TABLE", "routes"]
