"""smsgrid.consumer in a real Starlette app under uvicorn, subscribed to a real smsgrid over loopback."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette

from smsgrid.consumer import EventGridEndpoint, EventIdDeduper
from smsgrid.events import SMS_RECEIVED, Event, SmsReceivedData
from smsgrid.testing import SmsgridProcess, free_port
from smsgrid.testing.plugin import inbound, subscribe

HANDSET, OWNED = "+14255550123", "+18005550100"


@dataclass
class Received:
    events: list[Event] = field(default_factory=list)
    lock: threading.Condition = field(default_factory=threading.Condition)

    def add(self, event: Event) -> None:
        with self.lock:
            self.events.append(event)
            self.lock.notify_all()

    def wait_for(self, predicate: Callable[[list[Event]], bool], timeout: float = 10.0) -> list[Event]:
        with self.lock:
            if not self.lock.wait_for(lambda: predicate(self.events), timeout):
                raise TimeoutError(f"not received within {timeout} s; got {self.events}")
            return list(self.events)


@dataclass
class RunningApp:
    base_url: str
    server: uvicorn.Server


@contextmanager
def _serve(app: Starlette) -> Iterator[RunningApp]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, name="consumer-app", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the consumer app did not start")
        time.sleep(0.02)
    try:
        yield RunningApp(f"http://127.0.0.1:{port}", server)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def smsgrid_time_scale() -> float:
    # Retries after 10 s play in 10 ms, so the failing-handler test sees Event Grid's retry quickly.
    return 0.001


def test_a_starlette_app_validates_and_receives_sms_received(smsgrid_server: SmsgridProcess) -> None:
    received = Received()

    async def on_event(event: Event) -> None:
        received.add(event)

    endpoint = EventGridEndpoint(on_event)
    with _serve(Starlette(routes=[endpoint.route("/events")])) as app:
        answer = subscribe(smsgrid_server, "my-app", f"{app.base_url}/events")
        assert answer["properties"]["provisioningState"] == "Succeeded"
        message_id = inbound(smsgrid_server, HANDSET, OWNED, "hello app")
        [event] = received.wait_for(lambda events: any(e.id == message_id for e in events))
        assert event.event_type == SMS_RECEIVED
        assert isinstance(event.data, SmsReceivedData)
        assert (event.data.message, event.data.from_, event.data.to) == ("hello app", "14255550123", "18005550100")


def test_cloud_events_handshake_and_dedupe_across_two_subscriptions(smsgrid_server: SmsgridProcess) -> None:
    received = Received()
    endpoint = EventGridEndpoint(received.add, dedupe=EventIdDeduper())  # a plain function: runs in the thread pool
    with _serve(Starlette(routes=[endpoint.route("/eg"), endpoint.route("/ce")])) as app:
        eg = subscribe(smsgrid_server, "as-event-grid", f"{app.base_url}/eg")
        ce = subscribe(
            smsgrid_server, "as-cloud-events", f"{app.base_url}/ce", eventDeliverySchema="CloudEventSchemaV1_0"
        )
        assert eg["properties"]["provisioningState"] == "Succeeded"
        assert ce["properties"]["provisioningState"] == "Succeeded"
        message_id = inbound(smsgrid_server, HANDSET, OWNED, "once please")
        # Both subscriptions deliver the same event id; wait until smsgrid recorded both as delivered.
        with smsgrid_server.admin() as admin:
            deadline = time.monotonic() + 10
            while True:
                deliveries = admin.get(f"/admin/events/{message_id}").json()["deliveries"]
                if len(deliveries) == 2 and all(d["state"] == "delivered" for d in deliveries):
                    break
                assert time.monotonic() < deadline, deliveries
                time.sleep(0.05)
        assert [e.id for e in received.events] == [message_id]


def test_a_failing_handler_gets_the_event_again_on_retry(smsgrid_server: SmsgridProcess) -> None:
    received = Received()
    failures = [RuntimeError("database down")]

    async def on_event(event: Event) -> None:
        received.add(event)
        if failures:
            raise failures.pop()

    endpoint = EventGridEndpoint(on_event, dedupe=EventIdDeduper())
    with _serve(Starlette(routes=[endpoint.route("/events")])) as app:
        subscribe(smsgrid_server, "flaky-app", f"{app.base_url}/events")
        message_id = inbound(smsgrid_server, HANDSET, OWNED, "retry me")
        events = received.wait_for(lambda events: len(events) >= 2)
        assert [e.id for e in events] == [message_id, message_id]
        with smsgrid_server.admin() as admin:
            deadline = time.monotonic() + 10
            while True:
                [delivery] = admin.get(f"/admin/events/{message_id}").json()["deliveries"]
                if delivery["state"] == "delivered":
                    break
                assert time.monotonic() < deadline, delivery
                time.sleep(0.05)
        assert [a["statusCode"] for a in delivery["attempts"]] == [500, 200]


def test_the_endpoint_answers_other_methods_with_405() -> None:
    endpoint = EventGridEndpoint(lambda event: None)
    app = Starlette()
    app.router.routes.append(endpoint.route("/events"))  # as in a FastAPI app
    with _serve(app) as running:
        assert httpx.get(f"{running.base_url}/events").status_code == 405
        bad = httpx.post(f"{running.base_url}/events", content=b"[1]")
        assert bad.status_code == 400
        assert "error" in bad.json()
