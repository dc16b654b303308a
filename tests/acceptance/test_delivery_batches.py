"""Output batching (SPEC §3 "Batching"): off by default, never more than maxEventsPerBatch per request, many
events per request when a backlog exists, preferredBatchSizeInKilobytes respected unless one event is larger.

A backlog is made by holding the first delivery request open until every event is published: with one request
in flight per endpoint (`max_concurrency_per_endpoint = 1`) the subscription's other events wait behind it, and
then go out together.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from smsgrid.testing import ReceivedRequest, SmsgridProcess, WebhookSink, start_smsgrid
from smsgrid.testing.plugin import inbound, subscribe

HANDSET = "+14255550123"
OWNED = "+18005550100"
HOLD_TIMEOUT_SECONDS = 20.0
BIG_MESSAGE_CHARS = 1900


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmsgridProcess]:
    one_in_flight = "[delivery]\nmax_concurrency_per_endpoint = 1\n"
    with start_smsgrid(tmp_path_factory.mktemp("batches"), config=one_in_flight, time_scale=0.001) as process:
        yield process


class HoldFirst:
    """A responder that keeps the first delivery request open until `release()`, then answers 200 to all."""

    def __init__(self) -> None:
        self._released = threading.Event()
        self._first = threading.Event()

    def __call__(self, request: ReceivedRequest) -> int:
        if not self._first.is_set():
            self._first.set()
            self._released.wait(HOLD_TIMEOUT_SECONDS)
        return 200

    def wait_until_holding(self) -> None:
        assert self._first.wait(HOLD_TIMEOUT_SECONDS), "no delivery request arrived"

    def release(self) -> None:
        self._released.set()


def items_per_request(sink: WebhookSink) -> list[list[dict[str, Any]]]:
    return [r.json() for r in sink.notifications()]


def delivered_ids(sink: WebhookSink) -> set[str]:
    return {item["id"] for batch in items_per_request(sink) for item in batch}


def publish_backlog(server: SmsgridProcess, hold: HoldFirst, messages: list[str]) -> set[str]:
    """The first message is delivered and held; the rest pile up behind it; then the hold is released."""
    ids = {inbound(server, HANDSET, OWNED, messages[0])}
    hold.wait_until_holding()
    ids |= {inbound(server, HANDSET, OWNED, text) for text in messages[1:]}
    hold.release()
    return ids


def test_batching_is_off_by_default_one_event_per_request(server: SmsgridProcess) -> None:
    hold = HoldFirst()
    with WebhookSink(responder=hold) as sink:
        subscribe(server, "batch-default", sink.url)
        ids = publish_backlog(server, hold, [f"default {i}" for i in range(6)])
        sink.wait_for(lambda s: ids <= delivered_ids(s))
        assert all(len(batch) == 1 for batch in items_per_request(sink))


def test_max_events_per_batch_is_never_exceeded_and_a_backlog_is_batched(server: SmsgridProcess) -> None:
    hold = HoldFirst()
    with WebhookSink(responder=hold) as sink:
        destination = {"endpointType": "WebHook", "properties": {"endpointUrl": sink.url, "maxEventsPerBatch": 3}}
        subscribe(server, "batch-of-three", sink.url, destination=destination)
        ids = publish_backlog(server, hold, [f"three {i}" for i in range(10)])
        sink.wait_for(lambda s: ids <= delivered_ids(s))
        sizes = [len(batch) for batch in items_per_request(sink)]
        assert max(sizes) <= 3, sizes
        assert max(sizes) > 1, f"the backlog was not batched: {sizes}"
        # Event Grid never waits to fill a batch: the held first request carried what was ready, one event.
        assert sizes[0] == 1
        for request in sink.notifications():
            body = request.json()
            assert request.headers["aeg-output-event-id"] == body[0]["id"]


def test_preferred_batch_size_in_kilobytes_is_respected(server: SmsgridProcess) -> None:
    hold = HoldFirst()
    with WebhookSink(responder=hold) as sink:
        destination = {
            "endpointType": "WebHook",
            "properties": {"endpointUrl": sink.url, "maxEventsPerBatch": 100, "preferredBatchSizeInKilobytes": 2},
        }
        subscribe(server, "batch-two-kilobytes", sink.url, destination=destination)
        # Small events (~600 bytes each, three fit in 2 KB) and one of about 2.5 KB, larger than the preference.
        messages = [f"small {i}" for i in range(8)]
        messages.insert(4, "L" * BIG_MESSAGE_CHARS)
        ids = publish_backlog(server, hold, messages)
        sink.wait_for(lambda s: ids <= delivered_ids(s))
        for request in sink.notifications():
            batch = request.json()
            item_bytes = len(request.body) - 2 - (len(batch) - 1)  # minus "[", "]" and the commas
            assert len(batch) == 1 or item_bytes <= 2048, f"{len(batch)} events, {item_bytes} bytes"
            if any(len(item["data"]["message"]) == BIG_MESSAGE_CHARS for item in batch):
                assert len(batch) == 1, "an event larger than the preferred size goes alone"
        assert any(len(batch) > 1 for batch in items_per_request(sink)), "small events were not batched"


def test_retried_events_are_batched_within_the_limit(server: SmsgridProcess) -> None:
    busy = threading.Event()
    busy.set()
    with WebhookSink(responder=lambda request: 503 if busy.is_set() else 200) as sink:
        destination = {"endpointType": "WebHook", "properties": {"endpointUrl": sink.url, "maxEventsPerBatch": 4}}
        subscribe(server, "batch-after-503", sink.url, destination=destination)
        ids = {inbound(server, HANDSET, OWNED, f"busy {i}") for i in range(10)}
        # Let every event be refused at least once, so all of them are waiting for a retry.
        sink.wait_for(lambda s: ids <= delivered_ids(s))
        refused = len(sink.notifications())
        busy.clear()
        sink.wait_for(lambda s: ids <= {i["id"] for r in s.notifications()[refused:] for i in r.json()})
        sizes = [len(batch) for batch in items_per_request(sink)]
        assert max(sizes) <= 4, sizes
