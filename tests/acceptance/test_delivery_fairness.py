"""An endpoint that keeps failing must not slow delivery to healthy endpoints (SPEC §3 "Success and retry").

One endpoint never answers (the server gives up after `[delivery] timeout_seconds = 2`), one refuses
connections (its port is closed after it passed validation), one answers 503 to everything. A healthy
subscription on the same server must still get every event. No timing is asserted: only that all arrive.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from smsgrid.testing import SmsgridProcess, WebhookSink, start_smsgrid
from smsgrid.testing.plugin import inbound, subscribe

HANDSET = "+14255550123"
OWNED = "+18005550100"
EVENTS = 40
CONFIG = """
[delivery]
timeout_seconds = 2
"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[SmsgridProcess]:
    with start_smsgrid(tmp_path / "fairness", config=CONFIG, time_scale=0.001) as process:
        yield process


def delivered_ids(sink: WebhookSink) -> set[str]:
    return {item["id"] for request in sink.notifications() for item in request.json()}


def test_hanging_refusing_and_busy_endpoints_do_not_starve_a_healthy_one(server: SmsgridProcess) -> None:
    with (
        WebhookSink(hang=True) as hanging,
        WebhookSink(responder=lambda request: 503) as busy,
        WebhookSink() as healthy,
    ):
        subscribe(server, "hanging", hanging.url)
        subscribe(server, "busy", busy.url)
        with WebhookSink() as soon_closed:
            subscribe(server, "refusing", soon_closed.url)
        # The refusing endpoint passed validation; now nothing listens on its port.
        subscribe(server, "healthy", healthy.url)

        ids = {inbound(server, HANDSET, OWNED, f"fair share {i}") for i in range(EVENTS)}
        healthy.wait_for(lambda s: ids <= delivered_ids(s), timeout=30.0)
        # The failing endpoints were really tried meanwhile: they are failing, not idle.
        hanging.wait_for(lambda s: len(s.notifications()) >= 1)
        busy.wait_for(lambda s: len(s.notifications()) >= 1)

        # And the healthy subscription keeps up with a second wave while the others are still failing.
        more = {inbound(server, HANDSET, OWNED, f"second wave {i}") for i in range(EVENTS)}
        healthy.wait_for(lambda s: more <= delivered_ids(s), timeout=30.0)
        with server.admin() as admin:
            health = admin.get("/admin/subscriptions/busy").json()["health"]
        assert health["consecutiveFailures"] >= 1


def test_the_server_stops_cleanly_while_an_endpoint_is_on_probation(server: SmsgridProcess) -> None:
    # After 10 consecutive failures an endpoint is on probation; new events keep waking its pump. A SIGTERM
    # must still end the process by itself (exit code 0), not by the SIGKILL that follows a hang.
    with WebhookSink(responder=lambda request: 503) as busy, WebhookSink() as healthy:
        subscribe(server, "probation", busy.url)
        subscribe(server, "bystander", healthy.url)
        for i in range(15):
            inbound(server, HANDSET, OWNED, f"refused {i}")
        with server.admin() as admin:
            deadline = time.monotonic() + 30.0
            while time.monotonic() < deadline:
                health = admin.get("/admin/subscriptions/probation").json()["health"]
                if health["consecutiveFailures"] >= 10:
                    break
                time.sleep(0.02)
            assert health["consecutiveFailures"] >= 10
        last = inbound(server, HANDSET, OWNED, "wakes the pump on probation")
        healthy.wait_for(lambda s: last in delivered_ids(s))
        assert server.stop(signal.SIGTERM, timeout=10.0) == 0
