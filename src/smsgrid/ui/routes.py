"""The web UI's routes, mounted by `smsgrid.server` beside the data plane and the admin API."""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from smsgrid.ui import actions, login, pages

routes: list[BaseRoute] = [
    Route("/", pages.dashboard, methods=["GET"]),
    Route("/login", login.login_page, methods=["GET"]),
    Route("/login", login.login_submit, methods=["POST"]),
    Route("/logout", login.logout, methods=["POST"]),
    Route("/phones", pages.phones, methods=["GET"]),
    Route("/phones/{number}", pages.phone, methods=["GET"]),
    Route("/phones/{number}/send", actions.send, methods=["POST"]),
    Route("/phones/{number}/inbound", actions.receive, methods=["POST"]),
    Route("/messages", pages.messages, methods=["GET"]),
    Route("/messages/{message_id}", pages.message, methods=["GET"]),
    Route("/events", pages.events, methods=["GET"]),
    Route("/events/{event_id}", pages.event, methods=["GET"]),
    Route("/subscriptions", pages.subscriptions, methods=["GET"]),
    Route("/subscriptions", actions.subscription_create, methods=["POST"]),
    Route("/subscriptions/new", pages.subscription_new, methods=["GET"]),
    Route("/subscriptions/{name}/edit", pages.subscription_edit, methods=["GET"]),
    Route("/subscriptions/{name}/edit", actions.subscription_update, methods=["POST"]),
    Route("/subscriptions/{name}/delete", actions.subscription_delete, methods=["POST"]),
    Route("/deadletters", pages.deadletters, methods=["GET"]),
    Route("/deadletters/{deadletter_id}/redeliver", actions.redeliver, methods=["POST"]),
    Route("/ui/stream", pages.stream, methods=["GET"]),
    # Every asset is served from the package (htmx vendored from npm, hand-written CSS): nothing from a CDN.
    Mount("/ui/static", app=StaticFiles(packages=[("smsgrid.ui", "static")]), name="ui-static"),
]

__all__ = ["routes"]
