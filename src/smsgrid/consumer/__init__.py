"""smsgrid.consumer: receive Event Grid deliveries of the ACS SMS events in an application, in a few lines.

The core, :func:`handle_delivery`, is a pure function over (method, headers, body) that answers the
handshakes and parses notifications into typed events; :class:`EventGridEndpoint` plugs it into Starlette or
FastAPI, and :mod:`smsgrid.consumer.flask_adapter` into Flask. See docs/consumer.md.
"""

from smsgrid.consumer.asgi import EventGridEndpoint, EventHandler
from smsgrid.consumer.core import (
    VALIDATION_EVENT_TYPE,
    ConsumerReply,
    EventIdDeduper,
    ReplyKind,
    as_e164,
    handle_delivery,
)
from smsgrid.consumer.entra import EntraTokenError, EntraTokenVerifier

__all__ = [
    "VALIDATION_EVENT_TYPE",
    "ConsumerReply",
    "EntraTokenError",
    "EntraTokenVerifier",
    "EventGridEndpoint",
    "EventHandler",
    "EventIdDeduper",
    "ReplyKind",
    "as_e164",
    "handle_delivery",
]
