"""The UI's pages (GET). Each reads the change versions first, then its data, and renders one template.
The login gate is applied once, in `smsgrid.ui.routes`.

Reading the versions before the data means a change that lands while the page renders still makes the live
stream refresh it (see `smsgrid.ui.live`).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from smsgrid.api.context import AppContext
from smsgrid.ui import session, stats
from smsgrid.ui.conversations import conversations, thread
from smsgrid.ui.forms import EVENT_TYPES, SCHEMAS, number_from_path, subscription_form_values
from smsgrid.ui.live import Versions, change_stream, current_versions
from smsgrid.ui.timeline import message_steps
from smsgrid.ui.web import not_found, owned_number, redirect, render

DASHBOARD_WINDOW = 1000  # newest messages / events the dashboard's numbers are computed over
PHONE_WINDOW = 500
LIST_LIMIT = 100
DEFAULT_HANDSET = "+14255550123"


async def dashboard(ctx: AppContext, request: Request) -> Response:
    versions = await current_versions(ctx)
    store = ctx.store
    now = ctx.clock.now()
    counts = await store.counts()
    messages = await store.list_messages(limit=DASHBOARD_WINDOW)
    events = await store.list_events(limit=DASHBOARD_WINDOW)
    subscriptions = await ctx.subscriptions.list()
    metrics = ctx.metrics
    message_series = stats.Series(stats.per_minute([m.created_at for m in messages], now))
    event_series = stats.Series(stats.per_minute([e.published_at for e in events], now))
    webhooks = stats.webhook_summary(
        stats.counter_by_label(metrics.deliveries, "outcome"),
        sum(stats.counter_by_label(metrics.delivered, "subscription").values()),
        sum(stats.counter_by_label(metrics.dead_lettered, "subscription").values()),
        stats.histogram_buckets(metrics.delivery_latency),
        stats.histogram_buckets(metrics.attempt_duration),
    )
    return render(
        ctx,
        request,
        "dashboard.html",
        {
            "active": "dashboard",
            "counts": counts,
            "message_series": message_series,
            "event_series": event_series,
            "chart_minutes": stats.CHART_MINUTES,
            "sms": stats.sms_summary(messages),
            "webhooks": webhooks,
            "subscriptions": subscriptions,
            "recent_messages": messages[:8],
            "recent_events": events[:8],
            "topic": ctx.subscriptions.topic,
        },
        versions=versions,
    )


async def phones(ctx: AppContext, request: Request) -> Response:
    return redirect(f"/phones/{ctx.resource.phone_numbers[0]}")


async def phone(ctx: AppContext, request: Request) -> Response:
    return await render_phone(ctx, request)


async def render_phone(
    ctx: AppContext,
    request: Request,
    *,
    compose: dict[str, str] | None = None,
    inbound: dict[str, str] | None = None,
    errors: dict[str, list[str]] | None = None,
    status: int = 200,
) -> Response:
    """The phone page; the compose and inbound handlers re-render it with what was typed and the problems."""
    owned = owned_number(ctx, request)
    if isinstance(owned, Response):
        return owned
    versions = await current_versions(ctx)
    messages = await ctx.store.list_messages(limit=PHONE_WINDOW, number=owned)
    threads = conversations(owned, messages)
    wanted = request.query_params.get("with")
    selected = number_from_path(wanted) if wanted else (threads[0].counterpart if threads else None)
    bubbles = thread(owned, selected, messages) if selected else []
    return render(
        ctx,
        request,
        "phone.html",
        {
            "active": "phones",
            "owned": owned,
            "threads": threads,
            "selected": selected,
            "bubbles": bubbles,
            "compose": compose or {"to": selected or "", "message": "", "tag": "", "delivery_report": "on"},
            "inbound": inbound or {"from": selected or DEFAULT_HANDSET, "message": ""},
            "errors": errors or {},
            # After a form error this page is the answer to a POST; live refreshes must GET the phone itself.
            "thread_url": f"/phones/{owned}" + (f"?with={quote(selected, safe='')}" if selected else ""),
        },
        versions=versions,
        status=status,
    )


async def messages(ctx: AppContext, request: Request) -> Response:
    versions = await current_versions(ctx)
    items = await ctx.store.list_messages(limit=LIST_LIMIT)
    return render(ctx, request, "messages.html", {"active": "messages", "messages": items}, versions=versions)


async def message(ctx: AppContext, request: Request) -> Response:
    versions = await current_versions(ctx)
    message_id = request.path_params["message_id"]
    found = await ctx.store.get_message(message_id)
    if found is None:
        return not_found(ctx, request, f"No message with id {message_id}.")
    owned = ctx.resource.phone_numbers
    phone_number = found.from_number if found.from_number in owned else found.to_number
    other = found.to_number if phone_number == found.from_number else found.from_number
    return render(
        ctx,
        request,
        "message.html",
        {
            "active": "messages",
            "message": found,
            "steps": message_steps(found, await ctx.store.carrier_notes(message_id)),
            "phone_number": phone_number if phone_number in owned else None,
            "other": other,
        },
        versions=versions,
    )


async def events(ctx: AppContext, request: Request) -> Response:
    versions = await current_versions(ctx)
    items = await ctx.store.list_events(limit=LIST_LIMIT)
    return render(ctx, request, "events.html", {"active": "events", "events": items}, versions=versions)


async def event(ctx: AppContext, request: Request) -> Response:
    versions = await current_versions(ctx)
    event_id = request.path_params["event_id"]
    found = await ctx.store.get_event(event_id)
    if found is None:
        return not_found(ctx, request, f"No event with id {event_id}.")
    return render(ctx, request, "event.html", {"active": "events", "event": found}, versions=versions)


async def subscriptions(ctx: AppContext, request: Request) -> Response:
    versions = await current_versions(ctx)
    items = await ctx.subscriptions.list()
    saved = request.query_params.get("name")
    return render(
        ctx,
        request,
        "subscriptions.html",
        {"active": "subscriptions", "subscriptions": items, "highlight": saved, "topic": ctx.subscriptions.topic},
        versions=versions,
    )


async def subscription_new(ctx: AppContext, request: Request) -> Response:
    return render_subscription_form(ctx, request, None, subscription_form_values(None))


async def subscription_edit(ctx: AppContext, request: Request) -> Response:
    name = request.path_params["name"]
    found = await ctx.subscriptions.get(name)
    if found is None:
        return not_found(ctx, request, f"No event subscription named {name}.")
    return render_subscription_form(ctx, request, found, subscription_form_values(found))


def render_subscription_form(
    ctx: AppContext,
    request: Request,
    existing: dict[str, Any] | None,
    values: dict[str, Any],
    problems: list[str] | None = None,
    status: int = 200,
) -> Response:
    return render(
        ctx,
        request,
        "subscription_form.html",
        {
            "active": "subscriptions",
            "existing": existing,
            "values": values,
            "problems": problems or [],
            "event_types": EVENT_TYPES,
            "schemas": SCHEMAS,
        },
        status=status,
    )


async def deadletters(ctx: AppContext, request: Request) -> Response:
    versions = await current_versions(ctx)
    items = await ctx.store.list_deadletters(limit=LIST_LIMIT, include_redelivered=True)
    active_names = set(ctx.registry.active_names())
    return render(
        ctx,
        request,
        "deadletters.html",
        {
            "active": "deadletters",
            "deadletters": items,
            "active_subscriptions": active_names,
            "waiting": sum(1 for d in items if d.redelivered_at is None),
        },
        versions=versions,
    )


async def carriers(ctx: AppContext, request: Request) -> Response:
    """What carries the messages, and each SMPP connection's state (the same as `smsgrid carriers`)."""
    return render(ctx, request, "carriers.html", {"active": "carriers", "listing": ctx.carriers.listing()})


async def stream(ctx: AppContext, request: Request) -> Response:
    """`text/event-stream` of change notices (see `smsgrid.ui.live`); 401 without a session."""
    if not session.is_logged_in(ctx.web_auth, request):
        return Response("Log in first.", status_code=401, media_type="text/plain")
    since = Versions.decode(request.query_params.get("since"))
    return StreamingResponse(
        change_stream(ctx, since),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
