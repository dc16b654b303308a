"""Receive Event Grid deliveries in a Flask app (only when Flask is installed; smsgrid does not depend on it).

    from smsgrid.consumer.flask_adapter import event_grid_view

    app.add_url_rule("/events", view_func=event_grid_view(on_event, dedupe=EventIdDeduper()))

`on_event(event)` is called once per new event; if it raises, the answer is 500 and Event Grid retries.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Sequence
from typing import Any

from smsgrid.consumer.core import EventIdDeduper, ReplyKind, handle_delivery
from smsgrid.consumer.entra import WWW_AUTHENTICATE, EntraTokenError, EntraTokenVerifier
from smsgrid.events.models import Event

log = logging.getLogger("smsgrid.consumer")


def _flask() -> Any:
    try:
        return importlib.import_module("flask")
    except ImportError as exc:
        raise ImportError("smsgrid.consumer.flask_adapter needs Flask: pip install flask") from exc


def event_grid_view(
    handler: Callable[[Event], None],
    *,
    dedupe: EventIdDeduper | None = None,
    allowed_origins: Sequence[str] = ("*",),
    verifier: EntraTokenVerifier | None = None,
) -> Callable[[], Any]:
    """A Flask view function for the webhook URL; it takes POST and answers the OPTIONS handshake itself.
    With `verifier`, a request without a valid Event Grid bearer token is answered 401 (smsgrid.consumer.entra)."""
    flask = _flask()

    def event_grid_webhook() -> Any:
        request = flask.request
        if verifier is not None:
            try:
                verifier.verify(request.headers.get("Authorization"))
            except EntraTokenError as exc:
                log.warning("refused a request without a valid Entra token: %s", exc)
                return flask.Response(status=401, headers={"WWW-Authenticate": WWW_AUTHENTICATE})
        reply = handle_delivery(
            request.method,
            list(request.headers.items()),
            request.get_data(cache=False),
            dedupe=dedupe,
            allowed_origins=allowed_origins,
        )
        if reply.kind is ReplyKind.NOTIFICATION:
            handled: list[str] = []
            try:
                for event in reply.events:
                    handler(event)
                    handled.append(event.id)
            except Exception:
                log.exception("event handler failed; answering 500 so Event Grid retries the delivery")
                return flask.Response(status=500)
            finally:
                # Events handled before a failure stay handled; the rest are taken again on the retry.
                if dedupe is not None:
                    dedupe.remember(handled)
                    dedupe.release(e.id for e in reply.events if e.id not in handled)
        return flask.Response(reply.body, status=reply.status, headers=dict(reply.headers))

    # Flask answers OPTIONS on its own unless told not to; the CloudEvents handshake needs our answer.
    setattr(event_grid_webhook, "methods", ["POST", "OPTIONS"])  # noqa: B010 - Flask reads these attributes
    setattr(event_grid_webhook, "provide_automatic_options", False)  # noqa: B010
    return event_grid_webhook


__all__ = ["event_grid_view"]
