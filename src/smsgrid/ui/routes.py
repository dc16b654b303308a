"""The web UI's routes, mounted by `smsgrid.server` beside the data plane and the admin API."""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from smsgrid.api.context import AppContext
from smsgrid.api.routing import RouteSpec, bind_routes
from smsgrid.ui import actions, login, pages
from smsgrid.ui.web import FormHandler, form_action, login_required

# Pages behind the login gate; form posts behind the gate and the CSRF check. Each gate is written once
# (`web.login_required`, `web.form_action`): a route added to these lists cannot forget it.
PAGES: list[RouteSpec[AppContext]] = [
    RouteSpec("/", "GET", pages.dashboard),
    RouteSpec("/phones", "GET", pages.phones),
    RouteSpec("/phones/{number}", "GET", pages.phone),
    RouteSpec("/messages", "GET", pages.messages),
    RouteSpec("/messages/{message_id}", "GET", pages.message),
    RouteSpec("/events", "GET", pages.events),
    RouteSpec("/events/{event_id}", "GET", pages.event),
    RouteSpec("/subscriptions", "GET", pages.subscriptions),
    RouteSpec("/subscriptions/new", "GET", pages.subscription_new),
    RouteSpec("/subscriptions/{name}/edit", "GET", pages.subscription_edit),
    RouteSpec("/deadletters", "GET", pages.deadletters),
    RouteSpec("/carriers", "GET", pages.carriers),
]
FORMS: list[tuple[str, FormHandler]] = [
    ("/phones/{number}/send", actions.send),
    ("/phones/{number}/inbound", actions.receive),
    ("/subscriptions", actions.subscription_create),
    ("/subscriptions/{name}/edit", actions.subscription_update),
    ("/subscriptions/{name}/delete", actions.subscription_delete),
    ("/deadletters/{deadletter_id}/redeliver", actions.redeliver),
]
# Open to anyone: logging in and out check the session themselves; the live stream answers 401 without one.
PUBLIC: list[RouteSpec[AppContext]] = [
    RouteSpec("/login", "GET", login.login_page),
    RouteSpec("/login", "POST", login.login_submit),
    RouteSpec("/logout", "POST", login.logout),
    RouteSpec("/ui/stream", "GET", pages.stream),
]

TABLE: list[RouteSpec[AppContext]] = [
    *PUBLIC,
    *(RouteSpec(spec.path, spec.method, login_required(spec.handler)) for spec in PAGES),
    *(RouteSpec(path, "POST", form_action(action)) for path, action in FORMS),
]


def routes(ctx: AppContext) -> list[BaseRoute]:
    return [
        *bind_routes(ctx, TABLE, in_schema=False),  # HTML pages and forms, not the HTTP API
        # Every asset is served from the package (htmx vendored from npm, hand-written CSS): nothing from a CDN.
        Mount("/ui/static", app=StaticFiles(packages=[("smsgrid.ui", "static")]), name="ui-static"),
    ]


__all__ = ["TABLE", "routes"]
