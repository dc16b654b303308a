"""At-least-once across a crash (SPEC §3 "Delivery is at-least-once"; §4 `smsgrid serve` data dir).

The server is SIGKILLed (no clean shutdown) while deliveries are pending: refused with 503 and waiting for a
retry, or in flight to an endpoint that has not answered. Restarted on the same data dir, it delivers every
event. Duplicates are allowed; losses are not.
"""

from __future__ import annotations

import threading
from pathlib import Path

from smsgrid.testing import ReceivedRequest, WebhookSink, start_smsgrid
from smsgrid.testing.plugin import inbound, subscribe

HANDSET = "+14255550123"
OWNED = "+18005550100"
EVENTS = 20
STALL_TIMEOUT_SECONDS = 30.0
REFUSALS_BEFORE_THE_KILL = 5


def accepted_ids(sink: WebhookSink, accepted: list[ReceivedRequest]) -> set[str]:
    return {item["id"] for request in accepted for item in request.json()}


def test_pending_retries_survive_a_kill(tmp_path: Path) -> None:
    healthy = threading.Event()
    accepted: list[ReceivedRequest] = []

    def responder(request: ReceivedRequest) -> int:
        if healthy.is_set():
            accepted.append(request)
            return 200
        return 503

    with WebhookSink(responder=responder) as sink:
        server = start_smsgrid(tmp_path / "crash-503", time_scale=0.001)
        try:
            destination = {"endpointType": "WebHook", "properties": {"endpointUrl": sink.url, "maxEventsPerBatch": 5}}
            subscribe(server, "survives-503", sink.url, destination=destination)
            ids = {inbound(server, HANDSET, OWNED, f"pending {i}") for i in range(EVENTS)}
            # Some events have been refused and wait for a retry, the others for their first attempt.
            sink.wait_for(lambda s: len(s.notifications()) >= REFUSALS_BEFORE_THE_KILL)
            server.kill()
            healthy.set()
            server.start()
            sink.wait_for(lambda s: ids <= accepted_ids(s, accepted), timeout=20.0)
        finally:
            server.stop()


def test_in_flight_deliveries_survive_a_kill(tmp_path: Path) -> None:
    # The endpoint holds requests open until the first process is gone: the delivery it is sending is claimed,
    # in flight and never acknowledged, and the rest wait behind it. After the restart all must be sent.
    restarted = threading.Event()
    accepted: list[ReceivedRequest] = []

    def responder(request: ReceivedRequest) -> int:
        if not restarted.is_set():
            restarted.wait(STALL_TIMEOUT_SECONDS)
            return 200  # too late: the process that sent it was killed
        accepted.append(request)
        return 200

    with WebhookSink(responder=responder) as sink:
        server = start_smsgrid(tmp_path / "crash-in-flight", time_scale=0.001)
        try:
            subscribe(server, "survives-in-flight", sink.url)
            ids = {inbound(server, HANDSET, OWNED, f"in flight {i}") for i in range(EVENTS)}
            sink.wait_for(lambda s: len(s.notifications()) >= 1)
            server.kill()
            restarted.set()
            server.start()
            sink.wait_for(lambda s: ids <= accepted_ids(s, accepted), timeout=20.0)
        finally:
            restarted.set()
            server.stop()
