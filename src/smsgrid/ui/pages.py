"""The UI's pages (GET). Each reads the change versions first, then its data, and renders one template.

Reading the versions before the data means a change that lands while the page renders still makes the live
stream refresh it (see `smsgrid.ui.live`).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from smsgrid.ui import stats
from smsgrid.ui.conversations import conversations, thread
from smsgrid.ui.forms import EVENT_TYPES, SCHEMAS, number_from_path, subscription_form_values
from smsgrid.ui.live import Versions, change_stream, current_versions
from smsgrid.ui.timeline import message_steps
from smsgrid.ui.web import login_redirect, not_found, redirect, render, runtime_of

DASHBOARD_WINDOW = 1000  # newest messages / events the dashboard's numbers are computed over
PHONE_WINDOW = 500
LIST_LIMIT = 100
DEFAULT_HANDSET = "+14255550123"


async def dashboard(request: Request) -> Response:
    if (gate := login_redirect(request)) is not None:
        return gate
    runtime = runtime_of(request)
    versions = await current_versions(runtime)
    store = runtime.store
    now = runtime.clock.now()
    counts = await store.counts()
    messages = await store.list_messages(limit=DASHBOARD_WINDOW)
    events = await store.list_events(limit=DASHBOARD_WINDOW)
    subscriptions = await runtime.subscriptions.list()
    metrics = runtime.metrics
    message_series = stats.Series(stats.per_minute(_epochs(messages, "createdAt"), now))
    event_series = stats.Series(stats.per_minute(_epochs(events, "publishedAt"), now))
    webhooks = stats.webhook_summary(
        stats.counter_by_label(metrics.deliveries, "outcome"),
        sum(stats.counter_by_label(metrics.delivered, "subscription").values()),
        sum(stats.counter_by_label(metrics.dead_lettered, "subscription").values()),
        stats.histogram_buckets(metrics.delivery_latency),
        stats.histogram_buckets(metrics.attempt_duration),
    )
    return render(
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
            "topic": runtime.subscriptions.topic,
        },
        versions=versions,
    )


def _epochs(rows: list[dict[str, Any]], key: str) -> list[float]:
    return [e for e in (stats.epoch_of(r.get(key)) for r in rows) if e is not None]


async def phones(request: Request) -> Response:
    if (gate := login_redirect(request)) is not None:
        return gate
    return redirect(f"/phones/{runtime_of(request).settings.resource.phone_numbers[0]}")


async def phone(request: Request) -> Response:
    if (gate := login_redirect(request)) is not None:
        return gate
    return await render_phone(request)


async def render_phone(
    request: Request,
    *,
    compose: dict[str, str] | None = None,
    inbound: dict[str, str] | None = None,
    errors: dict[str, list[str]] | None = None,
    status: int = 200,
) -> Response:
    """The phone page; the compose and inbound handlers re-render it with what was typed and the problems."""
    runtime = runtime_of(request)
    owned = number_from_path(request.path_params["number"])
    if owned is None or owned not in runtime.settings.resource.phone_numbers:
        return not_found(request, f"{request.path_params['number']} is not a number of this resource.")
    versions = await current_versions(runtime)
    messages = await runtime.store.list_messages(limit=PHONE_WINDOW, number=owned)
    threads = conversations(owned, messages)
    wanted = request.query_params.get("with")
    selected = number_from_path(wanted) if wanted else (threads[0].counterpart if threads else None)
    bubbles = thread(owned, selected, messages) if selected else []
    return render(
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


async def messages(request: Request) -> Response:
    if (gate := login_redirect(request)) is not None:
        return gate
    runtime = runtime_of(request)
    versions = await current_versions(runtime)
    items = await runtime.store.list_messages(limit=LIST_LIMIT)
    return render(request, "messages.html", {"active": "messages", "messages": items}, versions=versions)


async def message(request: Request) -> Response:
    if (gate := login_redirect(request)) is not None:
        return gate
    runtime = runtime_of(request)
    versions = await current_versions(runtime)
    message_id = request.path_params["message_id"]
    found = await runtime.store.get_message(message_id)
    if found is None:
        return not_found(request, f"No message with id {message_id}.")
    owned = runtime.settings.resource.phone_numbers
    phone_number = found["from"] if found["from"] in owned else found["to"]
    other = found["to"] if phone_number == found["from"] else found["from"]
    return render(
        request,
        "message.html",
        {
            "active": "messages",
            "message": found,
            "steps": message_steps(found),
            "phone_number": phone_number if phone_number in owned else None,
            "other": other,
        },
        versions=versions,
    )


async def events(request: Request) -> Response:
    if (gate := login_redirect(request)) is not None:
        return gate
    runtime = runtime_of(request)
    versions = await current_versions(runtime)
    items = await runtime.store.list_events(limit=LIST_LIMIT)
    return render(request, "events.html", {"active": "events", "events": items}, versions=versions)


async def event(request: Request) -> Response:
    if (gate := login_redirect(request)) is not None:
        return gate
    runtime = runtime_of(request)
    versions = await current_versions(runtime)
    event_id = request.path_params["event_id"]
    found = await runtime.store.get_event(event_id)
    if found is None:
        return not_found(request, f"No event with id {event_id}.")
    return render(request, "event.html", {"active": "events", "event": found}, versions=versions)


async def subscriptions(request: Request) -> Response:
    if (gate := login_redirect(request)) is not None:
        return gate
    runtime = runtime_of(request)
    versions = await current_versions(runtime)
    items = await runtime.subscriptions.list()
    saved = request.query_params.get("name")
    return render(
        request,
        "subscriptions.html",
        {"active": "subscriptions", "subscriptions": items, "highlight": saved, "topic": runtime.subscriptions.topic},
        versions=versions,
    )


async def subscription_new(request: Request) -> Response:
    if (gate := login_redirect(request)) is not None:
        return gate
    return render_subscription_form(request, None, subscription_form_values(None))


async def subscription_edit(request: Request) -> Response:
    if (gate := login_redirect(request)) is not None:
        return gate
    name = request.path_params["name"]
    found = await runtime_of(request).subscriptions.get(name)
    if found is None:
        return not_found(request, f"No event subscription named {name}.")
    return render_subscription_form(request, found, subscription_form_values(found))


def render_subscription_form(
    request: Request,
    existing: dict[str, Any] | None,
    values: dict[str, Any],
    problems: list[str] | None = None,
    status: int = 200,
) -> Response:
    return render(
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


async def deadletters(request: Request) -> Response:
    if (gate := login_redirect(request)) is not None:
        return gate
    runtime = runtime_of(request)
    versions = await current_versions(runtime)
    items = await runtime.store.list_deadletters(limit=LIST_LIMIT, include_redelivered=True)
    active_names = set(runtime.registry.active_names())
    return render(
        request,
        "deadletters.html",
        {
            "active": "deadletters",
            "deadletters": items,
            "active_subscriptions": active_names,
            "waiting": sum(1 for d in items if d["redeliveredAt"] is None),
        },
        versions=versions,
    )


async def stream(request: Request) -> Response:
    """`text/event-stream` of change notices (see `smsgrid.ui.live`); 401 without a session."""
    if login_redirect(request) is not None:
        return Response("Log in first.", status_code=401, media_type="text/plain")
    since = Versions.decode(request.query_params.get("since"))
    return StreamingResponse(
        change_stream(runtime_of(request), since),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
