"""examples/auto_reply: the bot, run against a real smsgrid, replies with the official SDK and honours STOP."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from examples.auto_reply.bot import REPLY_TAG, create_app, reply_to

from smsgrid.testing import SmsgridProcess, free_port
from smsgrid.testing.plugin import inbound, subscribe

HANDSET, OWNED = "+14255550123", "+18005550100"


@pytest.fixture
def smsgrid_config() -> str:
    return "[carrier]\ndelay_ms = 0\n"  # delivery reports at once


@pytest.fixture
def bot_url(smsgrid_server: SmsgridProcess) -> Iterator[str]:
    """The bot on a free port, replying through smsgrid's HTTPS data plane like it would through Azure's."""
    app = create_app(smsgrid_server.connection_string, connection_verify=str(smsgrid_server.cert_path))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, name="auto-reply-bot", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive(), "the bot stopped while starting"
        assert time.monotonic() < deadline, "the bot did not start within 10 s"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}/events"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        app.state.sms_client._sms_service_client.close()  # SmsClient 1.1.0 has no close()


def _delivered(admin: httpx.Client, event_id: str) -> None:
    """Wait until smsgrid recorded the event as delivered to the bot (it answered 200)."""
    deadline = time.monotonic() + 10
    while True:
        deliveries = admin.get(f"/admin/events/{event_id}").json()["deliveries"]
        if deliveries and all(d["state"] == "delivered" for d in deliveries):
            return
        assert time.monotonic() < deadline, deliveries
        time.sleep(0.05)


def _replies(admin: httpx.Client) -> list[dict[str, Any]]:
    messages = admin.get("/admin/messages", params={"number": HANDSET}).json()["value"]
    return [m for m in messages if m["direction"] == "outgoing" and m["tag"] == REPLY_TAG]


def _wait_for_replies(admin: httpx.Client, count: int, *, settled: bool = True) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 10
    while True:
        replies = _replies(admin)
        if len(replies) >= count and (not settled or all(r["deliveryReport"] for r in replies)):
            return replies
        assert time.monotonic() < deadline, replies
        time.sleep(0.05)


def test_the_bot_replies_and_honours_stop(smsgrid_server: SmsgridProcess, bot_url: str) -> None:
    answer = subscribe(smsgrid_server, "auto-reply", bot_url,
                       filter={"includedEventTypes": ["Microsoft.Communication.SMSReceived"]})  # fmt: skip
    assert answer["properties"]["provisioningState"] == "Succeeded"  # the consumer answered the handshake
    with smsgrid_server.admin() as admin:
        inbound(smsgrid_server, HANDSET, OWNED, "Hello bot")
        [reply] = _wait_for_replies(admin, 1)
        assert (reply["from"], reply["to"]) == (OWNED, HANDSET)
        assert reply["message"] == "Thanks for your message! You said: Hello bot"
        assert reply["deliveryReport"]["deliveryStatus"] == "Delivered"

        # STOP reaches the bot as an ordinary SMSReceived; it answers 200 and sends nothing.
        stop = inbound(smsgrid_server, HANDSET, OWNED, "STOP")
        _delivered(admin, stop)
        assert len(_replies(admin)) == 1

        # The handset is opted out now: the bot's next reply is accepted, then fails at the carrier with 4007.
        inbound(smsgrid_server, HANDSET, OWNED, "are you there?")
        newest = _wait_for_replies(admin, 2)[0]
        assert newest["message"].endswith("are you there?")
        assert newest["deliveryReport"]["deliveryStatus"] == "Failed"
        assert newest["deliveryStatusCode"] == 4007


def test_reply_to_leaves_every_keyword_to_the_carrier() -> None:
    for keyword in ("STOP", " stop ", "Unsubscribe", "START", "HELP", "quit"):
        assert reply_to(keyword) is None
    assert reply_to("stop please") == "Thanks for your message! You said: stop please"
