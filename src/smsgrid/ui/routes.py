"""The web UI's routes, mounted by `smsgrid.server` beside the data plane and the admin API."""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from smsgrid.api.context import AppContext
from smsgrid.api.routing import RouteSpec, bind_routes
from smsgrid.ui import actions, login, pages

TABLE: list[RouteSpec[AppContext]] = [
    RouteSpec("/", "GET", pages.dashboard),
    RouteSpec("/login", "GET", login.login_page),
    RouteSpec("/login", "POST", login.login_submit),
    RouteSpec("/logout", "POST", login.logout),
    RouteSpec("/phones", "GET", pages.phones),
    RouteSpec("/phones/{number}", "GET", pages.phone),
    RouteSpec("/phones/{number}/send", "POST", actions.send),
    RouteSpec("/phones/{number}/inbound", "POST", actions.receive),
    RouteSpec("/messages", "GET", pages.messages),
    RouteSpec("/messages/{message_id}", "GET", pages.message),
    RouteSpec("/events", "GET", pages.events),
    RouteSpec("/events/{event_id}", "GET", pages.event),
    RouteSpec("/subscriptions", "GET", pages.subscriptions),
    RouteSpec("/subscriptions", "POST", actions.subscription_create),
    RouteSpec("/subscriptions/new", "GET", pages.subscription_new),
    RouteSpec("/subscriptions/{name}/edit", "GET", pages.subscription_edit),
    RouteSpec("/subscriptions/{name}/edit", "POST", actions.subscription_update),
    RouteSpec("/subscriptions/{name}/delete", "POST", actions.subscription_delete),
    RouteSpec("/deadletters", "GET", pages.deadletters),
    RouteSpec("/deadletters/{deadletter_id}/redeliver", "POST", actions.redeliver),
    RouteSpec("/ui/stream", "GET", pages.stream),
]


def routes(ctx: AppContext) -> list[BaseRoute]:
    return [
        *bind_routes(ctx, TABLE),
        # Every asset is served from the package (htmx vendored from npm, hand-written CSS): nothing from a CDN.
        Mount("/ui/static", app=StaticFiles(packages=[("smsgrid.ui", "static")]), name="ui-static"),
    ]


__all__ = ["TABLE", "routes"]
