"""The UI's form posts: send, text an owned number, save or delete a subscription, redeliver a dead letter.

Each checks the session and its CSRF token, calls the same service the API calls, and redirects back
(post/redirect/get) or re-renders the form with what went wrong.
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from smsgrid.api.context import AppContext
from smsgrid.api.ids import id_number
from smsgrid.errors import RequestError
from smsgrid.ui import session
from smsgrid.ui.forms import (
    FormError,
    inbound_fields,
    number_from_path,
    send_request,
    subscription_properties,
    values_from_post,
)
from smsgrid.ui.pages import render_phone, render_subscription_form
from smsgrid.ui.web import csrf_refused, login_redirect, not_found, read_form, redirect


async def _checked_form(ctx: AppContext, request: Request) -> bytes | Response:
    """The posted body, or the response that refuses it (no session, or a CSRF token that does not match)."""
    if (gate := login_redirect(ctx.web_auth, request)) is not None:
        return gate
    body = await read_form(request)
    if not session.csrf_ok(ctx.web_auth, request, session.form_fields(body).get(session.CSRF_FIELD)):
        return csrf_refused()
    return body


def _phone_url(owned: str, counterpart: str | None, notice: str) -> str:
    query = f"?notice={notice}"
    if counterpart:
        query += f"&with={quote(counterpart, safe='')}"
    return f"/phones/{quote(owned, safe='+')}{query}"


async def send(ctx: AppContext, request: Request) -> Response:
    body = await _checked_form(ctx, request)
    if isinstance(body, Response):
        return body
    owned = number_from_path(request.path_params["number"])
    if owned is None or owned not in ctx.resource.phone_numbers:
        return not_found(ctx, request, f"{request.path_params['number']} is not a number of this resource.")
    fields = session.form_fields(body)
    try:
        results = await ctx.messaging.send(send_request(fields, owned))
    except FormError as exc:
        return await render_phone(ctx, request, compose=fields, errors={"compose": exc.problems}, status=400)
    except RequestError as exc:
        return await render_phone(ctx, request, compose=fields, errors={"compose": [exc.message]}, status=exc.status)
    first = next((r for r in results if r.get("successful")), None)
    counterpart = first["to"] if first else None
    return redirect(_phone_url(owned, counterpart, "sent"))


async def receive(ctx: AppContext, request: Request) -> Response:
    """ "Text this number": an SMS from a handset to the owned number, as `POST /admin/inbound` records it."""
    body = await _checked_form(ctx, request)
    if isinstance(body, Response):
        return body
    owned = number_from_path(request.path_params["number"])
    if owned is None or owned not in ctx.resource.phone_numbers:
        return not_found(ctx, request, f"{request.path_params['number']} is not a number of this resource.")
    fields = session.form_fields(body)
    try:
        sender, text = inbound_fields(fields)
        await ctx.messaging.receive(sender, owned, text)
    except FormError as exc:
        return await render_phone(ctx, request, inbound=fields, errors={"inbound": exc.problems}, status=400)
    except RequestError as exc:
        return await render_phone(ctx, request, inbound=fields, errors={"inbound": [exc.message]}, status=exc.status)
    return redirect(_phone_url(owned, sender, "received"))


async def subscription_create(ctx: AppContext, request: Request) -> Response:
    body = await _checked_form(ctx, request)
    if isinstance(body, Response):
        return body
    name = session.form_fields(body).get("name", "").strip()
    return await _save_subscription(ctx, request, body, name, existing=None)


async def subscription_update(ctx: AppContext, request: Request) -> Response:
    body = await _checked_form(ctx, request)
    if isinstance(body, Response):
        return body
    name = request.path_params["name"]
    existing = await ctx.subscriptions.get(name)
    if existing is None:
        return not_found(ctx, request, f"No event subscription named {name}.")
    return await _save_subscription(ctx, request, body, name, existing=existing)


async def _save_subscription(
    ctx: AppContext, request: Request, body: bytes, name: str, existing: dict[str, object] | None
) -> Response:
    fields = session.form_lists(body)
    stored = None
    if existing is not None:
        # The stored spec keeps the secrets the form never shows (URL query, secret attributes); edit on top of it.
        record = next((r for r in await ctx.store.list_subscriptions() if r.name == name), None)
        stored = record.spec.get("properties") if record is not None else None
    try:
        props = subscription_properties(fields, stored)
        result = await ctx.subscriptions.put(name, {"properties": props})
    except FormError as exc:
        problems = exc.problems
    except RequestError as exc:
        problems = [exc.message]
    else:
        state = result["properties"]["provisioningState"]
        return redirect(f"/subscriptions?notice=saved&name={quote(name, safe='')}&state={quote(state, safe='')}")
    values = values_from_post(fields, name)
    if existing is not None:
        base = existing["properties"]
        assert isinstance(base, dict)
        values["endpoint_base_url"] = base["destination"]["properties"].get("endpointBaseUrl") or ""
    return render_subscription_form(ctx, request, existing, values, problems, status=400)


async def subscription_delete(ctx: AppContext, request: Request) -> Response:
    body = await _checked_form(ctx, request)
    if isinstance(body, Response):
        return body
    name = request.path_params["name"]
    if not await ctx.subscriptions.delete(name):
        return not_found(ctx, request, f"No event subscription named {name}.")
    return redirect(f"/subscriptions?notice=deleted&name={quote(name, safe='')}")


async def redeliver(ctx: AppContext, request: Request) -> Response:
    body = await _checked_form(ctx, request)
    if isinstance(body, Response):
        return body
    text = request.path_params["deadletter_id"]
    deadletter_id = id_number(text)  # the admin API's parser: "²", "٣" or 5,000 digits are a 404, not a 500
    found = None if deadletter_id is None else await ctx.store.get_deadletter(deadletter_id)
    if deadletter_id is None or found is None:
        return not_found(ctx, request, f"No dead letter with id {text[:40]}.")
    if found.redelivered_at is None and not await ctx.redelivery(deadletter_id):
        return redirect(f"/deadletters?problem=inactive&id={deadletter_id}")
    return redirect(f"/deadletters?notice=redelivered&id={deadletter_id}")
