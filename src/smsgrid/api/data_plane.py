"""The ACS SMS data plane (SPEC §2): send, opt-outs, delivery-report lookup. HMAC or an Entra token on every call."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from smsgrid.api.auth import require_data_plane_caller
from smsgrid.api.responses import json_response, problem_response, read_body
from smsgrid.entra import COMMUNICATION_AUDIENCE
from smsgrid.errors import InvalidPhoneNumberError, RequestError
from smsgrid.messaging.send_request import (
    DELIVERY_REPORT_API_VERSIONS,
    OPTOUT_API_VERSIONS,
    bad_request,
    check_api_version,
    load_json_object,
    parse_send_request,
)
from smsgrid.runtime import Runtime
from smsgrid.sms import ACS_INVALID_TO, MAX_RECIPIENTS, parse_e164

# The opt-out APIs word a bad recipient differently from send (azure-rest-api-specs, Sms OptOutAdd.json).
OPTOUT_INVALID_TO = "Invalid recipient phone number format"


async def _signed_body(request: Request, runtime: Runtime) -> bytes:
    body = await read_body(request)
    await require_data_plane_caller(request, body, runtime.key_bytes, COMMUNICATION_AUDIENCE)
    return body


async def send_sms(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    body = await _signed_body(request, runtime)
    check_api_version(request.query_params.get("api-version"))
    send = parse_send_request(body)
    results = await runtime.messaging.send(send)
    return json_response({"value": results}, 202)


def _optout_request(body: bytes) -> tuple[str, list[str]]:
    raw = load_json_object(body)
    from_text = raw.get("from")
    if not isinstance(from_text, str):
        raise bad_request("The field 'from' is required and must be a string.")
    sender = from_text  # checked against the resource's senders by Messaging.check_sender (401)
    recipients = raw.get("recipients")
    if not isinstance(recipients, list) or not 1 <= len(recipients) <= MAX_RECIPIENTS:
        raise bad_request('The field \'recipients\' must be a list of 1 to 100 objects like {"to": "+1..."}.')
    tos = []
    for i, item in enumerate(recipients):
        if not isinstance(item, dict) or not isinstance(item.get("to"), str):
            raise bad_request(f"recipients[{i}] must be an object with a 'to' string.")
        tos.append(item["to"])
    return sender, tos


async def optouts(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    action = request.path_params["action"]
    if action not in ("add", "remove", "check"):
        raise RequestError(404, "NotFound", f"Unknown opt-out action '{action}'; use add, remove or check.")
    body = await _signed_body(request, runtime)
    check_api_version(request.query_params.get("api-version"), OPTOUT_API_VERSIONS)
    sender, tos = _optout_request(body)
    if runtime.messaging.check_sender(sender).one_way:
        # "Azure Communication Services doesn't enforce or manage opt-out lists for alphanumeric sender IDs"
        # (ACS SMS FAQ, opt-out handling).
        raise bad_request(
            f"{sender!r} is an alphanumeric sender ID: ACS keeps no opt-out list for those; give the "
            "recipients another way to opt out.",
            "InvalidFromNumber",
        )
    valid: list[str] = []
    results: list[dict[str, Any]] = []
    for to in tos:
        try:
            valid.append(parse_e164(to))
            results.append({"to": to, "httpStatusCode": 200})
        except InvalidPhoneNumberError:
            results.append({"to": to, "httpStatusCode": 400, "errorMessage": OPTOUT_INVALID_TO})
    now = runtime.clock.now()
    if action == "check":
        states = iter(await runtime.store.check_optouts(sender, valid))
    else:
        await runtime.store.set_optouts(sender, valid, action == "add", now)
        states = iter([action == "add"] * len(valid))
    for result in results:
        if result["httpStatusCode"] == 200:
            result["isOptedOut"] = next(states)
    return json_response({"value": results}, 200)


async def delivery_report(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    await _signed_body(request, runtime)
    check_api_version(request.query_params.get("api-version"), DELIVERY_REPORT_API_VERSIONS)
    message_id = request.path_params["message_id"]
    message = await runtime.store.get_message(message_id)
    if message is None or message["deliveryReport"] is None:
        return problem_response(404, "Not Found", f"No delivery report for message '{message_id}' (yet).")
    return json_response(message["deliveryReport"])


routes = [
    Route("/sms", send_sms, methods=["POST"]),
    Route("/sms/optouts:{action}", optouts, methods=["POST"]),
    Route("/deliveryReports/{message_id}", delivery_report, methods=["GET"]),
]

__all__ = ["ACS_INVALID_TO", "routes"]
