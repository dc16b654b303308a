"""An SMS auto-reply bot: every SMS to your number gets an answer, except the keywords the carrier handles.

Event Grid pushes `Microsoft.Communication.SMSReceived` to this app (smsgrid.consumer answers the validation
handshake and parses the delivery); the bot replies with the official `azure-communication-sms` SDK.

STOP (and STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT), START/UNSTOP and HELP get no reply from the bot: the
carrier (ACS, or smsgrid's simulated one) opts the sender out or in and sends the HELP text itself. A reply to
someone who has opted out is accepted and then fails with DeliveryStatusDetails 4007 — the platform enforces
the opt-out, the bot need not keep its own list.

Run it (with `make run` in another terminal):

    ACS_CONNECTION_STRING="endpoint=https://127.0.0.1:8443/;accesskey=..." \
    ACS_CONNECTION_VERIFY=.smsgrid/tls/cert.pem python -m examples.auto_reply.bot
    smsgrid subscriptions create auto-reply --endpoint http://127.0.0.1:9000/events --event-types SMSReceived
    smsgrid receive -m "Hello bot"
"""

from __future__ import annotations

import logging
import os
from typing import Any

from azure.communication.sms import SmsClient
from starlette.applications import Starlette

from smsgrid.consumer import EventGridEndpoint, EventIdDeduper, as_e164
from smsgrid.events import SMS_RECEIVED, Event, SmsReceivedData
from smsgrid.sms.keywords import classify_keyword

log = logging.getLogger("auto_reply")
REPLY_TAG = "auto-reply"


def reply_to(message: str) -> str | None:
    """What the bot answers to `message`; None for the keywords the carrier handles (STOP, START, HELP)."""
    if classify_keyword(message) is not None:
        return None
    return f"Thanks for your message! You said: {message.strip()[:100]}"


class AutoReplyBot:
    """Handles one event at a time; Event Grid may deliver an event twice, the endpoint's deduper skips repeats."""

    def __init__(self, sms_client: Any) -> None:
        self.sms_client = sms_client

    def on_event(self, event: Event) -> None:
        if event.event_type != SMS_RECEIVED or not isinstance(event.data, SmsReceivedData):
            return
        text = reply_to(event.data.message)
        if text is None:
            log.info("no reply to keyword %r from %s", event.data.message, event.data.from_)
            return
        # The event carries digits without "+" (as the Azure docs' sample does); the SDK wants E.164.
        [result] = self.sms_client.send(
            from_=as_e164(event.data.to),
            to=as_e164(event.data.from_),
            message=text,
            enable_delivery_report=True,
            tag=REPLY_TAG,
        )
        if not result.successful:
            # Raising makes the endpoint answer 500, so Event Grid retries this event later.
            raise RuntimeError(f"reply to {event.data.from_} refused: {result.error_message}")


def create_app(connection_string: str, *, connection_verify: str | bool = True) -> Starlette:
    """The Starlette app (FastAPI works the same way: `app.router.routes.append(endpoint.route("/events"))`)."""
    sms_client = SmsClient.from_connection_string(connection_string, connection_verify=connection_verify)
    bot = AutoReplyBot(sms_client)
    endpoint = EventGridEndpoint(bot.on_event, dedupe=EventIdDeduper())
    app = Starlette(routes=[endpoint.route("/events")])
    app.state.sms_client = sms_client
    return app


def main() -> None:
    import uvicorn

    logging.basicConfig(level=logging.INFO)
    verify = os.environ.get("ACS_CONNECTION_VERIFY")
    app = create_app(os.environ["ACS_CONNECTION_STRING"], connection_verify=verify or True)
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ.get("PORT", "9000")))


if __name__ == "__main__":
    main()
